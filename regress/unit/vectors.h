/*
 * The Appendix B known-answer vectors (regress/vectors/appendix-b.json)
 * for the unit suites that check against them: `vectors' holds the
 * parsed file while vectors_main() runs the suite.
 */
#ifndef RELAYD_TEST_VECTORS_H
#define RELAYD_TEST_VECTORS_H

#include <stdio.h>
#include <stdlib.h>

#include <check.h>
#include <jansson.h>

static json_t	*vectors;

/* Load the vectors, run the suite, exit status for main(). */
static int
vectors_main(Suite *s)
{
	SRunner		*sr;
	json_error_t	 jerr;
	int		 failed;

	vectors = json_load_file(VECTORS_DIR "/appendix-b.json", 0, &jerr);
	if (vectors == NULL) {
		fprintf(stderr, "%s: line %d: %s\n",
		    VECTORS_DIR "/appendix-b.json", jerr.line, jerr.text);
		return (EXIT_FAILURE);
	}
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	json_decref(vectors);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}

#endif /* RELAYD_TEST_VECTORS_H */
