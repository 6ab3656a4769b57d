/*
 * Benchmark of the routing algebra (libroute) on the fixed LCG graph
 * (routed/gen.c; the recipe is in bench/RESULTS.md).  For each size it
 * prints the check values, the median single-source times, the Pareto
 * frontier time with its label bound, the time to apply 1 000 edge
 * updates and the peak RSS.  Each size runs in its own child process so
 * that ru_maxrss belongs to that size alone.
 *
 * usage: route [-r runs] [-L bound] ... [-V nodes] ...
 *
 * Defaults: V = 1 000, 10 000 and 100 000; 11 runs; Pareto bounds 4 and
 * 8 (-L 0 is the exact, unbounded frontier).
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/wait.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "route.h"

#define MAXSIZES	8
#define MAXRUNS		101
#define NUPDATES	1000

static int	 runs = 11;
static size_t	 labels[MAXSIZES] = { 4, 8 };
static size_t	 nlabels = 2;

static double
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* this process's CPU time: on a shared machine, wall time minus waits */
static double
cpu_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int
dcmp(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *t, int n)
{
	qsort(t, n, sizeof(*t), dcmp);
	return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

/* median and fastest wall times, median and least CPU times */
static void
report(const char *what, double *t, double *c, int n, const char *note)
{
	double	 m, mc;

	m = median(t, n);
	mc = median(c, n);
	printf("  %-28s %9.3f %9.3f %9.3f %9.3f%s%s\n", what, m, t[0], mc,
	    c[0], note[0] != '\0' ? "  " : "", note);
}

static long
peak_rss_kb(void)
{
	struct rusage	 ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		return -1;
	return ru.ru_maxrss;
}

static __attribute__((__noreturn__)) void
fail(const char *what)
{
	fprintf(stderr, "route: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* time runs single-source queries and print the median and the best */
static void
time_sssp(struct route_sssp *s, const struct route_graph *g,
    const struct semiring *sr, uint32_t src, enum route_algo algo,
    const char *what, const char *note)
{
	double	 t[MAXRUNS], c[MAXRUNS], t0, c0;
	int	 i;

	for (i = 0; i < runs; i++) {
		t0 = now_ms();
		c0 = cpu_ms();
		if (route_sssp_run(s, g, sr, src, algo) == -1)
			fail("route_sssp_run");
		c[i] = cpu_ms() - c0;
		t[i] = now_ms() - t0;
	}
	report(what, t, c, runs, note);
}

struct checks {
	uint32_t	 reach;
	int64_t		 cost;
	int64_t		 lat;
	double		 trust;
};

static void
check_values(struct route_sssp *s, const struct route_graph *g,
    struct checks *c)
{
	union sr_val	 v[3];
	uint32_t	 n, bound = route_graph_node_bound(g);

	memset(c, 0, sizeof(*c));
	for (n = 0; n < bound; n++) {
		if (!route_sssp_reached(s, n, 0))
			continue;
		if (route_sssp_value(s, n, v) == -1)
			fail("route_sssp_value");
		c->reach++;
		c->trust += v[0].d;
		c->cost += v[1].i;
		c->lat += v[2].i;
	}
}

static int
run_size(uint32_t nv)
{
	struct route_graph	*g;
	struct route_sssp	*s;
	struct route_pareto	*p;
	struct route_pareto_opts po;
	struct route_ew		 w;
	struct checks		 c, c3;
	char			(*names)[2][16];
	char			 what[64], note[96];
	uint32_t		 st = 2463534242U, u, v, i, src;
	double			 t0, c0, tbuild, tq[MAXRUNS], cq[MAXRUNS];
	size_t			 li, frontier, discarded;
	int			 r, bad = 0;

	printf("== V = %" PRIu32 "\n", nv);
	t0 = now_ms();
	if ((g = route_graph_new()) == NULL || route_gen_lcg(g, nv) == -1)
		fail("graph");
	tbuild = now_ms() - t0;
	printf("graph: %zu nodes, %zu edges, built in %.1f ms, "
	    "peak RSS %ld kB\n", route_graph_nnodes(g), route_graph_nedges(g),
	    tbuild, peak_rss_kb());
	src = route_node_find(g, "n0");
	if ((s = route_sssp_new()) == NULL || (p = route_pareto_new()) == NULL)
		fail("alloc");

	/* check values, from both record strategies */
	if (route_sssp_run(s, g, &sr_record, src, ROUTE_ALGO_LABEL) == -1)
		fail("record");
	check_values(s, g, &c);
	if (route_sssp_run(s, g, &sr_record, src, ROUTE_ALGO_BF) == -1)
		fail("record bf");
	check_values(s, g, &c3);
	printf("check: reachable %" PRIu32 ", sum cost %" PRId64
	    ", sum latency %" PRId64 ", sum trust %.10g (%.17g)\n",
	    c.reach, c.cost, c.lat, c.trust, c.trust);
	if (memcmp(&c, &c3, sizeof(c)) != 0) {
		printf("check: MISMATCH between label setting and "
		    "Bellman-Ford\n");
		bad = 1;
	}
	if (nv == 1000) {
		if (c.reach == 1000 && c.cost == 85895 && c.lat == 891125 &&
		    fabs(c.trust - 686.6318963359383) < 5e-8) {
			printf("check: V = 1000 matches the published "
			    "values\n");
		} else {
			printf("check: V = 1000 MISMATCH\n");
			bad = 1;
		}
	}

	(void)snprintf(what, sizeof(what), "ms, %d runs each", runs);
	printf("  %-28s %9s %9s %9s %9s\n", what, "median", "fastest",
	    "cpu med", "cpu min");
	time_sssp(s, g, &sr_trust, src, ROUTE_ALGO_LABEL,
	    "trust, label setting", "");
	time_sssp(s, g, &sr_cost, src, ROUTE_ALGO_LABEL,
	    "cost, label setting", "");
	time_sssp(s, g, &sr_latency, src, ROUTE_ALGO_LABEL,
	    "latency, label setting", "");
	time_sssp(s, g, &sr_record, src, ROUTE_ALGO_LABEL,
	    "record, label setting", "(3 passes)");
	time_sssp(s, g, &sr_record, src, ROUTE_ALGO_BF,
	    "record, Bellman-Ford", "(1 pass, FIFO)");
	time_sssp(s, g, &sr_trust, src, ROUTE_ALGO_BF,
	    "trust, Bellman-Ford", "");
	printf("  peak RSS after the single-source queries: %ld kB\n",
	    peak_rss_kb());

	for (li = 0; li < nlabels; li++) {
		route_pareto_defaults(&po);
		po.po_max_labels = labels[li];
		for (r = 0; r < runs; r++) {
			t0 = now_ms();
			c0 = cpu_ms();
			if (route_pareto_run(p, g, src, &po) == -1)
				fail("route_pareto_run");
			cq[r] = cpu_ms() - c0;
			tq[r] = now_ms() - t0;
		}
		frontier = route_pareto_labels(p);
		discarded = route_pareto_discarded(p);
		if (labels[li] == 0)
			(void)strlcpy(what, "pareto, unbounded", sizeof(what));
		else
			(void)snprintf(what, sizeof(what), "pareto, bound %zu",
			    labels[li]);
		(void)snprintf(note, sizeof(note), "(%zu labels, %.2f a node, "
		    "%zu discarded)", frontier, (double)frontier / nv,
		    discarded);
		report(what, tq, cq, runs, note);
	}
	printf("  peak RSS after the Pareto frontiers: %ld kB\n",
	    peak_rss_kb());

	/*
	 * 1 000 updates drawn from a second LCG stream: endpoints by name
	 * (as routed receives them), fresh weights; an existing edge is
	 * replaced, a missing one inserted.  Then the same edges removed.
	 */
	if ((names = reallocarray(NULL, NUPDATES, sizeof(*names))) == NULL)
		fail("alloc");
	for (i = 0; i < NUPDATES; i++) {
		st = 1664525U * st + 1013904223U;
		u = (uint32_t)(((uint64_t)st * nv) >> 32);
		st = 1664525U * st + 1013904223U;
		v = (uint32_t)(((uint64_t)st * nv) >> 32);
		if (v == u)
			v = (u + 1) % nv;
		(void)snprintf(names[i][0], sizeof(names[i][0]), "n%u", u);
		(void)snprintf(names[i][1], sizeof(names[i][1]), "n%u", v);
	}
	route_ew_default(&w);
	t0 = now_ms();
	for (i = 0; i < NUPDATES; i++) {
		u = route_node_find(g, names[i][0]);
		v = route_node_find(g, names[i][1]);
		w.ew_trust = 0.5 + (i % 50) / 100.0;
		w.ew_cost = 1 + i % 100;
		w.ew_latency = 1 + i % 1000;
		if (route_edge_set(g, u, v, &w) == -1)
			fail("route_edge_set");
	}
	printf("  %-28s %9.3f\n", "1000 edge updates (set)", now_ms() - t0);
	t0 = now_ms();
	for (i = 0; i < NUPDATES; i++) {
		u = route_node_find(g, names[i][0]);
		v = route_node_find(g, names[i][1]);
		if (route_edge_remove(g, u, v) == -1 && errno != ENOENT)
			fail("route_edge_remove");
	}
	printf("  %-28s %9.3f\n", "1000 edge removals", now_ms() - t0);
	(void)snprintf(note, sizeof(note), "(%zu edges now)",
	    route_graph_nedges(g));
	time_sssp(s, g, &sr_record, src, ROUTE_ALGO_LABEL,
	    "record after the updates", note);
	printf("peak RSS: %ld kB\n", peak_rss_kb());

	free(names);
	route_pareto_free(p);
	route_sssp_free(s);
	route_graph_free(g);
	return bad;
}

static __attribute__((__noreturn__)) void
usage(void)
{
	fprintf(stderr, "usage: route [-r runs] [-L bound] [-V nodes]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	uint32_t	 sizes[MAXSIZES] = { 1000, 10000, 100000 };
	size_t		 nsizes = 3, i;
	const char	*errstr;
	pid_t		 pid;
	int		 ch, status, bad = 0, gotv = 0, gotl = 0;

	while ((ch = getopt(argc, argv, "L:r:V:")) != -1) {
		switch (ch) {
		case 'L':
			if (!gotl)
				nlabels = 0;
			gotl = 1;
			if (nlabels == MAXSIZES)
				usage();
			labels[nlabels++] = strtonum(optarg, 0, 1000000,
			    &errstr);
			if (errstr != NULL)
				usage();
			break;
		case 'r':
			runs = strtonum(optarg, 1, MAXRUNS, &errstr);
			if (errstr != NULL)
				usage();
			break;
		case 'V':
			if (!gotv)
				nsizes = 0;
			gotv = 1;
			if (nsizes == MAXSIZES)
				usage();
			sizes[nsizes++] = strtonum(optarg, 2, 10000000,
			    &errstr);
			if (errstr != NULL)
				usage();
			break;
		default:
			usage();
		}
	}
	if (argc != optind)
		usage();
	for (i = 0; i < nsizes; i++) {
		fflush(stdout);
		if ((pid = fork()) == -1)
			fail("fork");
		if (pid == 0) {
			status = run_size(sizes[i]);
			fflush(stdout);
			_exit(status);
		}
		if (waitpid(pid, &status, 0) == -1)
			fail("waitpid");
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			bad = 1;
	}
	return bad;
}
