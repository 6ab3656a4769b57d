/*
 * The agent API's pure parts: the token verifier (agent_token.c) against
 * vectors made with Node's crypto and JSON.stringify
 * (regress/vectors/gen-agent-tokens.js -> agent-tokens.json), the
 * dollars to micro-units conversion against JavaScript's
 * Math.round(Number(text) * 1e6), key-succession and guardian records
 * signed by Node, and every field rule of the bootstrap, register,
 * heartbeat and listing bodies (agent_body.c).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "agent_body.h"
#include "agent_token.h"
#include "encoding.h"
#include "http.h"
#include "jcs.h"

#define JS_INT_MAX	9007199254740991LL

static json_t	*vec;

static json_t *
parse(const char *s)
{
	char	 err[128];
	json_t	*o;

	o = jcs_parse(s, strlen(s), err, sizeof(err));
	ck_assert_msg(o != NULL, "%s: %s", s, err);
	return (o);
}

static const char *
vstr(const json_t *o, const char *key)
{
	const json_t	*v = json_object_get(o, key);

	ck_assert_msg(json_is_string(v), "no %s in the vectors", key);
	return (json_string_value(v));
}

START_TEST(token_vectors)
{
	const json_t		*tokens = json_object_get(vec, "tokens"), *t;
	struct agent_token	 tok;
	enum agtok_err		 e;
	char			 hdr[AGTOK_LEN_MAX + 16], err[256];
	size_t			 i;

	ck_assert(json_array_size(tokens) >= 25);
	json_array_foreach(tokens, i, t) {
		snprintf(hdr, sizeof(hdr), "Bearer %s", vstr(t, "token"));
		e = agent_token_parse(hdr, &tok, err, sizeof(err));
		if (e == AGTOK_OK)
			e = agent_token_claims(&tok, json_integer_value(
			    json_object_get(t, "now")), vstr(t, "aud"), err,
			    sizeof(err));
		if (e == AGTOK_OK)
			e = agent_token_verify(&tok, vstr(t, "device_key"));
		ck_assert_msg(strcmp(agent_token_errname(e),
		    vstr(t, "expect")) == 0, "%s: got %s (%s), want %s",
		    vstr(t, "name"), agent_token_errname(e),
		    e == AGTOK_OK ? "" : err, vstr(t, "expect"));
	}
}
END_TEST

START_TEST(token_fields)
{
	const json_t		*t = json_array_get(json_object_get(vec,
				    "tokens"), 0);
	struct agent_token	 tok;
	char			 hdr[AGTOK_LEN_MAX + 16], err[256];

	snprintf(hdr, sizeof(hdr), "Bearer %s", vstr(t, "token"));
	ck_assert_int_eq(agent_token_parse(hdr, &tok, err, sizeof(err)),
	    AGTOK_OK);
	ck_assert_str_eq(tok.mid, "019dc3f3-0000-7000-8000-00000000000a");
	ck_assert_str_eq(tok.did, "b3a4c1d2-0000-4000-8000-000000000001");
	ck_assert_str_eq(tok.jti, "6f1c2b7e-8f00-4a00-9000-000000000001");
	ck_assert_str_eq(tok.aud, "admin:query");
	ck_assert_int_eq(tok.exp, 1760000300000LL);
	ck_assert_int_eq(tok.iat, 1759999999000LL);
	/* the scheme is case-insensitive; anything else is missing */
	snprintf(hdr, sizeof(hdr), "bearer %s", vstr(t, "token"));
	ck_assert_int_eq(agent_token_parse(hdr, &tok, err, sizeof(err)),
	    AGTOK_OK);
	ck_assert_int_eq(agent_token_parse(NULL, &tok, err, sizeof(err)),
	    AGTOK_MISSING);
	ck_assert_int_eq(agent_token_parse("Basic abc", &tok, err,
	    sizeof(err)), AGTOK_MISSING);
	ck_assert_int_eq(agent_token_parse("Bearer ", &tok, err,
	    sizeof(err)), AGTOK_MALFORMED);
	ck_assert_int_eq(agent_token_status(AGTOK_AUDIENCE), 403);
	ck_assert_int_eq(agent_token_status(AGTOK_EXPIRED), 401);
	ck_assert_int_eq(agent_token_status(AGTOK_BAD_SIGNATURE), 401);
	ck_assert_int_eq(agent_token_status(AGTOK_UNKNOWN_DEVICE), 401);
	/* a bad key never verifies */
	ck_assert_int_eq(agent_token_verify(&tok, "zz"), AGTOK_BAD_SIGNATURE);
	ck_assert_int_eq(agent_token_verify(&tok, NULL), AGTOK_BAD_SIGNATURE);
}
END_TEST

START_TEST(dollars)
{
	const json_t	*d = json_object_get(vec, "dollars"), *r, *v;
	json_t		*o;
	int64_t		 micro, want;
	size_t		 i;

	ck_assert(json_array_size(d) >= 20);
	json_array_foreach(d, i, r) {
		o = parse(vstr(r, "text"));
		want = json_integer_value(json_object_get(r, "micro"));
		if (want > JS_INT_MAX) {
			/* beyond 2^53 - 1: refused rather than inexact */
			ck_assert_int_eq(agent_dollars_to_micro(o, &micro),
			    -1);
		} else {
			ck_assert_msg(agent_dollars_to_micro(o, &micro) == 0,
			    "%s refused", vstr(r, "text"));
			ck_assert_msg(micro == want, "%s: %lld, JavaScript "
			    "%lld", vstr(r, "text"), (long long)micro,
			    (long long)want);
		}
		json_decref(o);
	}
	json_array_foreach(json_object_get(vec, "refused"), i, v) {
		o = parse(json_string_value(v));
		ck_assert_msg(agent_dollars_to_micro(o, &micro) == -1,
		    "%s accepted", json_string_value(v));
		json_decref(o);
	}
}
END_TEST

START_TEST(succession)
{
	const json_t	*s = json_object_get(vec, "succession");
	const char	*oldk = vstr(s, "old_key"), *newk = vstr(s, "new_key");
	json_t		*r;
	char		 err[256];

	r = json_deep_copy(json_object_get(s, "record"));
	ck_assert_msg(agent_succession_verify(r, oldk, newk, err,
	    sizeof(err)) == 0, "%s", err);
	/* not the identity's current key, not the body's new key */
	ck_assert_int_eq(agent_succession_verify(r, newk, newk, err,
	    sizeof(err)), 400);
	ck_assert_ptr_nonnull(strstr(err, "old_public_key"));
	ck_assert_int_eq(agent_succession_verify(r, oldk, oldk, err,
	    sizeof(err)), 400);
	ck_assert_ptr_nonnull(strstr(err, "new_public_key"));
	/* a changed field breaks the old key's signature */
	json_object_set_new(r, "reason", json_string("other"));
	ck_assert_int_eq(agent_succession_verify(r, oldk, newk, err,
	    sizeof(err)), 400);
	ck_assert_ptr_nonnull(strstr(err, "old_key_signature"));
	json_decref(r);
	/* the new key's signature is checked too */
	r = json_deep_copy(json_object_get(s, "record"));
	json_object_set(r, "new_key_signature", json_object_get(r,
	    "old_key_signature"));
	ck_assert_int_eq(agent_succession_verify(r, oldk, newk, err,
	    sizeof(err)), 400);
	ck_assert_ptr_nonnull(strstr(err, "new_key_signature"));
	json_decref(r);
	/* suite, recovery, timestamp, signatures */
	r = json_deep_copy(json_object_get(s, "record"));
	json_object_set_new(r, "suite", json_string("motebit-jcs-ed25519-"
	    "b64-v1"));
	ck_assert_int_eq(agent_succession_verify(r, oldk, newk, err,
	    sizeof(err)), 400);
	ck_assert_ptr_nonnull(strstr(err, "suite"));
	json_decref(r);
	r = json_deep_copy(json_object_get(s, "record"));
	json_object_set_new(r, "recovery", json_true());
	ck_assert_int_eq(agent_succession_verify(r, oldk, newk, err,
	    sizeof(err)), 400);
	ck_assert_ptr_nonnull(strstr(err, "recovery"));
	json_decref(r);
	r = json_deep_copy(json_object_get(s, "record"));
	json_object_set_new(r, "timestamp", json_string("now"));
	ck_assert_int_eq(agent_succession_verify(r, oldk, newk, err,
	    sizeof(err)), 400);
	ck_assert_ptr_nonnull(strstr(err, "timestamp"));
	json_decref(r);
	r = json_deep_copy(json_object_get(s, "record"));
	json_object_del(r, "new_key_signature");
	ck_assert_int_eq(agent_succession_verify(r, oldk, newk, err,
	    sizeof(err)), 400);
	json_decref(r);
	ck_assert_int_eq(agent_succession_verify(NULL, oldk, newk, err,
	    sizeof(err)), 400);
}
END_TEST

#define REG_BASE "{\"endpoint_url\":\"https://agent.example/mcp\"," \
	"\"capabilities\":[\"web_search\",\"read_url\"]"

/* register body with extra members; status and a word of the error */
static void
reg(const char *extra, int want, const char *word)
{
	char	 buf[2048], err[256], key[PUBKEY_HEX_MAX];
	json_t	*b, *doc;
	int	 rc;

	snprintf(buf, sizeof(buf), "%s%s}", REG_BASE, extra);
	b = parse(buf);
	rc = agent_body_register(b, "mid-1", &doc, key, err, sizeof(err));
	ck_assert_msg(rc == want, "%s: %d (%s), want %d", extra, rc,
	    rc ? err : "", want);
	if (word != NULL)
		ck_assert_msg(strstr(err, word) != NULL, "%s: \"%s\" lacks %s",
		    extra, err, word);
	json_decref(doc);
	json_decref(b);
}

START_TEST(register_fields)
{
	char	 err[256], key[PUBKEY_HEX_MAX], *c;
	json_t	*b, *doc;
	size_t	 len;

	reg("", 0, NULL);
	reg(",\"motebit_id\":\"mid-1\"", 0, NULL);
	reg(",\"motebit_id\":\"mid-2\"", 403, "motebit_id");
	reg(",\"motebit_id\":7", 400, "motebit_id");
	reg(",\"metadata\":null,\"federation_visible\":null", 0, NULL);
	reg(",\"metadata\":[]", 400, "metadata");
	reg(",\"metadata\":{\"display_name\":7}", 400, "metadata.display_name");
	reg(",\"metadata\":{\"name\":\"a\\nb\"}", 400, "metadata.name");
	reg(",\"metadata\":{\"description\":\"ééé\"}", 0, NULL);
	reg(",\"public_key\":\"12\"", 400, "public_key");
	reg(",\"federation_visible\":\"no\"", 400, "federation_visible");
	reg(",\"settlement_address\":\"11111111111111111111111111111111\"", 0,
	    NULL);
	reg(",\"settlement_address\":\"1111111111111111111111111111111\"", 400,
	    "settlement_address");
	reg(",\"settlement_address\":\"0000000000000000000000000000000000\"",
	    400, "settlement_address");
	reg(",\"settlement_modes\":\"p2p,relay\"", 0, NULL);
	reg(",\"settlement_modes\":\"relay,relay\"", 400, "settlement_modes");
	reg(",\"sweep_threshold\":0", 0, NULL);
	reg(",\"sweep_threshold\":-1", 400, "sweep_threshold");
	reg(",\"sweep_threshold\":1.5", 400, "sweep_threshold");
	reg(",\"sweep_threshold\":9007199254740992", 400, "sweep_threshold");
	reg(",\"guardian_public_key\":\"aa\"", 400,
	    "guardian_public_key");
	reg(",\"guardian_attestation\":\"aa\"", 400, "guardian_attestation");
	reg(",\"succession\":{}", 400, "succession");
	reg(",\"unknown_member\":[1,2,3]", 0, NULL);

	/* the required ones */
	b = parse("{\"capabilities\":[]}");
	ck_assert_int_eq(agent_body_register(b, "m", &doc, key, err,
	    sizeof(err)), 400);
	ck_assert_ptr_nonnull(strstr(err, "endpoint_url"));
	json_decref(b);
	b = parse("{\"endpoint_url\":\"ftp://x\",\"capabilities\":[]}");
	ck_assert_int_eq(agent_body_register(b, "m", &doc, key, err,
	    sizeof(err)), 400);
	json_decref(b);
	b = parse("{\"endpoint_url\":\"\"}");
	ck_assert_int_eq(agent_body_register(b, "m", &doc, key, err,
	    sizeof(err)), 400);
	ck_assert_ptr_nonnull(strstr(err, "capabilities"));
	json_decref(b);
	b = parse("{\"endpoint_url\":\"\",\"capabilities\":[\"a\",\"a\"]}");
	ck_assert_int_eq(agent_body_register(b, "m", &doc, key, err,
	    sizeof(err)), 400);
	ck_assert_ptr_nonnull(strstr(err, "repeated"));
	json_decref(b);
	b = parse("[]");
	ck_assert_int_eq(agent_body_register(b, "m", &doc, key, err,
	    sizeof(err)), 400);
	json_decref(b);

	/* the normalised document */
	b = parse(REG_BASE ",\"metadata\":{\"name\":\"N\",\"description\":"
	    "\"D\"},\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAAAAAAAAAAAAAAAA\",\"sweep_threshold\":5}");
	ck_assert_int_eq(agent_body_register(b, "m", &doc, key, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(key, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaa");
	c = jcs_serialize(doc, 0, &len);
	ck_assert_str_eq(c, "{\"capabilities\":[\"web_search\",\"read_url\"],"
	    "\"description\":\"D\",\"display_name\":\"N\",\"endpoint_url\":"
	    "\"https://agent.example/mcp\",\"federation_visible\":true,"
	    "\"metadata\":{\"description\":\"D\",\"name\":\"N\"},"
	    "\"public_key\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaa\",\"sweep_threshold\":5}");
	free(c);
	json_decref(doc);
	json_decref(b);
}
END_TEST

START_TEST(guardian)
{
	const json_t	*g = json_object_get(vec, "guardian");
	char		 buf[1024], err[256], key[PUBKEY_HEX_MAX];
	json_t		*b, *doc;

	snprintf(buf, sizeof(buf), REG_BASE ",\"guardian_public_key\":\"%s\","
	    "\"guardian_attestation\":\"%s\"}", vstr(g, "guardian_public_key"),
	    vstr(g, "guardian_attestation"));
	b = parse(buf);
	ck_assert_int_eq(agent_body_register(b, vstr(g, "motebit_id"), &doc,
	    key, err, sizeof(err)), 0);
	ck_assert_msg(agent_guardian_verify(doc, vstr(g, "motebit_id"), err,
	    sizeof(err)) == 0, "%s", err);
	/* for another agent it does not verify */
	ck_assert_int_eq(agent_guardian_verify(doc, "someone-else", err,
	    sizeof(err)), 400);
	ck_assert_ptr_nonnull(strstr(err, "guardian_attestation"));
	json_decref(doc);
	json_decref(b);
}
END_TEST

START_TEST(bootstrap_fields)
{
	struct agb_bootstrap	 bs;
	char			 err[256];
	json_t			*b;

	b = parse("{\"motebit_id\":\"did:key:z6Mkabc\",\"public_key\":"
	    "\"00112233445566778899AABBCCDDEEFF"
	    "00112233445566778899aabbccddeeff\"}");
	ck_assert_int_eq(agent_body_bootstrap(b, &bs, err, sizeof(err)), 0);
	ck_assert_str_eq(bs.motebit_id, "did:key:z6Mkabc");
	ck_assert_str_eq(bs.device_id, "");
	ck_assert_str_eq(bs.public_key, "00112233445566778899aabbccddeeff"
	    "00112233445566778899aabbccddeeff");
	json_decref(b);
	b = parse("{\"motebit_id\":\"m\",\"device_id\":\"d 1\",\"public_key\":"
	    "\"00112233445566778899aabbccddeeff"
	    "00112233445566778899aabbccddeeff\"}");
	ck_assert_int_eq(agent_body_bootstrap(b, &bs, err, sizeof(err)), 400);
	ck_assert_ptr_nonnull(strstr(err, "device_id"));
	json_decref(b);
	b = parse("{\"motebit_id\":\"\",\"public_key\":\"00\"}");
	ck_assert_int_eq(agent_body_bootstrap(b, &bs, err, sizeof(err)), 400);
	ck_assert_ptr_nonnull(strstr(err, "motebit_id"));
	json_decref(b);
	b = parse("{\"motebit_id\":\"m\",\"public_key\":\"0g112233445566778899"
	    "aabbccddeeff00112233445566778899aabbccddeeff\"}");
	ck_assert_int_eq(agent_body_bootstrap(b, &bs, err, sizeof(err)), 400);
	ck_assert_ptr_nonnull(strstr(err, "public_key"));
	json_decref(b);
	ck_assert_int_eq(agent_body_bootstrap(NULL, &bs, err, sizeof(err)),
	    400);
}
END_TEST

static void
listing(const char *body, int want, const char *word)
{
	char	 err[256];
	json_t	*b, *doc;
	int	 rc;

	b = parse(body);
	rc = agent_body_listing(b, "ls-x", &doc, err, sizeof(err));
	ck_assert_msg(rc == want, "%s: %d (%s), want %d", body, rc,
	    rc ? err : "", want);
	if (word != NULL)
		ck_assert_msg(strstr(err, word) != NULL, "%s: \"%s\" lacks %s",
		    body, err, word);
	json_decref(doc);
	json_decref(b);
}

START_TEST(listing_fields)
{
	char	 err[256], *c;
	json_t	*b, *doc;
	size_t	 len;

	listing("{\"pricing\":[]}", 0, NULL);
	listing("{}", 400, "pricing");
	listing("{\"pricing\":{}}", 400, "pricing");
	listing("{\"pricing\":[1]}", 400, "pricing");
	listing("{\"pricing\":[{\"unit_cost\":1}]}", 400, "capability");
	listing("{\"pricing\":[{\"capability\":\"a\"}]}", 400, "unit_cost");
	listing("{\"pricing\":[{\"capability\":\"a\",\"unit_cost\":\"1\"}]}",
	    400, "unit_cost");
	listing("{\"pricing\":[{\"capability\":\"a\",\"unit_cost\":-0.5}]}",
	    400, "unit_cost");
	listing("{\"pricing\":[{\"capability\":\"a\",\"unit_cost\":1},"
	    "{\"capability\":\"a\",\"unit_cost\":2}]}", 400, "twice");
	listing("{\"pricing\":[{\"capability\":\"a\",\"unit_cost\":1,"
	    "\"currency\":\"usdc\"}]}", 400, "currency");
	listing("{\"pricing\":[{\"capability\":\"a\",\"unit_cost\":1,"
	    "\"per\":\"a b\"}]}", 400, "per");
	listing("{\"pricing\":[],\"sla\":{\"max_latency_ms\":-1}}", 400,
	    "max_latency_ms");
	listing("{\"pricing\":[],\"sla\":{\"max_latency_ms\":86400001}}", 400,
	    "max_latency_ms");
	listing("{\"pricing\":[],\"sla\":{\"availability_guarantee\":1.5}}",
	    400, "availability");
	listing("{\"pricing\":[],\"sla\":7}", 400, "sla");
	listing("{\"pricing\":[],\"description\":7}", 400, "description");
	listing("{\"pricing\":[],\"capabilities\":[\"\"]}", 400,
	    "capabilities");

	b = parse("{\"pricing\":[{\"capability\":\"web_search\",\"unit_cost\":"
	    "0.0001245},{\"capability\":\"read_url\",\"unit_cost\":2,"
	    "\"per\":\"page\"}],\"sla\":{\"max_latency_ms\":120,"
	    "\"availability_guarantee\":0.99},\"description\":\"d\"}");
	ck_assert_int_eq(agent_body_listing(b, "ls-1", &doc, err,
	    sizeof(err)), 0);
	c = jcs_serialize(doc, 0, &len);
	ck_assert_str_eq(c, "{\"availability\":0.99,\"description\":\"d\","
	    "\"listing_id\":\"ls-1\",\"max_latency_ms\":120,\"pricing\":["
	    "{\"capability\":\"web_search\",\"currency\":\"USDC\",\"per\":"
	    "\"task\",\"unit_cost\":124},{\"capability\":\"read_url\","
	    "\"currency\":\"USDC\",\"per\":\"page\",\"unit_cost\":2000000}]}");
	free(c);
	json_decref(doc);
	json_decref(b);
}
END_TEST

START_TEST(heartbeat_fields)
{
	char	 err[256];
	json_t	*b;

	ck_assert_int_eq(agent_body_heartbeat(NULL, "m", err, sizeof(err)), 0);
	b = parse("{\"motebit_id\":\"m\"}");
	ck_assert_int_eq(agent_body_heartbeat(b, "m", err, sizeof(err)), 0);
	ck_assert_int_eq(agent_body_heartbeat(b, "n", err, sizeof(err)), 403);
	json_decref(b);
	b = parse("7");
	ck_assert_int_eq(agent_body_heartbeat(b, "m", err, sizeof(err)), 400);
	json_decref(b);
}
END_TEST

START_TEST(names)
{
	char	 long_id[200];

	ck_assert(agent_id_ok("019dc3f3-0000-7000-8000-00000000000a", 128));
	ck_assert(agent_id_ok("did:key:z6MkhaXgBZD", 128));
	ck_assert(!agent_id_ok("", 128));
	ck_assert(!agent_id_ok("a|b", 128));
	ck_assert(!agent_id_ok("a,b", 128));
	ck_assert(!agent_id_ok("a b", 128));
	memset(long_id, 'a', sizeof(long_id));
	long_id[127] = '\0';
	ck_assert(agent_id_ok(long_id, 128));
	long_id[127] = 'a';
	long_id[128] = '\0';
	ck_assert(!agent_id_ok(long_id, 128));

	ck_assert(agent_capability_ok("web_search"));
	ck_assert(agent_capability_ok("mcp:tools/read-url.v2"));
	ck_assert(!agent_capability_ok("_x"));
	ck_assert(!agent_capability_ok(""));
	ck_assert(!agent_capability_ok("a b"));
	ck_assert(!agent_capability_ok("a,b"));
	ck_assert(agent_capability_ok("a23456789012345678901234567890123456789"
	    "012345678901234567890123"));
	ck_assert(!agent_capability_ok("a23456789012345678901234567890123456789"
	    "0123456789012345678901234"));

	ck_assert(agent_url_ok(""));
	ck_assert(agent_url_ok("http://127.0.0.1:9/x?y=1"));
	ck_assert(agent_url_ok("https://agent.example"));
	ck_assert(!agent_url_ok("https://"));
	ck_assert(!agent_url_ok("https:///path"));
	ck_assert(!agent_url_ok("ws://x"));
	ck_assert(!agent_url_ok("http://a b"));
	ck_assert(!agent_url_ok("http://a\x7f"));

	ck_assert(agent_modes_ok("relay"));
	ck_assert(agent_modes_ok("p2p"));
	ck_assert(agent_modes_ok("relay,p2p"));
	ck_assert(!agent_modes_ok("relay, p2p"));
	ck_assert(!agent_modes_ok(""));

	/* route patterns: "*" is one non-empty segment */
	ck_assert(http_path_match("/api/v1/agents/*/listing",
	    "/api/v1/agents/abc/listing"));
	ck_assert(!http_path_match("/api/v1/agents/*/listing",
	    "/api/v1/agents//listing"));
	ck_assert(!http_path_match("/api/v1/agents/*/listing",
	    "/api/v1/agents/a/b/listing"));
	ck_assert(!http_path_match("/api/v1/agents/*/listing",
	    "/api/v1/agents/a/listing/"));
	ck_assert(http_route_find("/api/v1/agents/x/listing") != NULL);
	ck_assert(http_route_find("/api/v1/agents/bootstrap") != NULL);
}
END_TEST

int
main(void)
{
	Suite		*s;
	TCase		*tc;
	SRunner		*sr;
	json_error_t	 jerr;
	int		 failed;

	vec = json_load_file(VECTORS_DIR "/agent-tokens.json", 0, &jerr);
	if (vec == NULL) {
		fprintf(stderr, "agent-tokens.json: line %d: %s\n", jerr.line,
		    jerr.text);
		return (EXIT_FAILURE);
	}
	s = suite_create("agents");
	tc = tcase_create("core");
	tcase_add_test(tc, token_vectors);
	tcase_add_test(tc, token_fields);
	tcase_add_test(tc, dollars);
	tcase_add_test(tc, succession);
	tcase_add_test(tc, register_fields);
	tcase_add_test(tc, guardian);
	tcase_add_test(tc, bootstrap_fields);
	tcase_add_test(tc, listing_fields);
	tcase_add_test(tc, heartbeat_fields);
	tcase_add_test(tc, names);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	json_decref(vec);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
