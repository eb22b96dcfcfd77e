/*
 * Reports: a table on stdout as results come in, and JSON and CSV files
 * with every figure and the machine facts.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

const double bench_pct[BENCH_NPCT] = { 0.50, 0.90, 0.99, 0.999, 0.9999, 1.0 };
const char *const bench_pct_name[BENCH_NPCT] = { "p50",   "p90",    "p99",
						 "p99.9", "p99.99", "max" };
static const char *const pct_key[BENCH_NPCT] = { "p50_ns",  "p90_ns",   "p99_ns",
						 "p999_ns", "p9999_ns", "max_ns" };

const char *bench_mode_name(enum bench_mode m)
{
	return m == BENCH_THR ? "thr" : "lat";
}

static const char *lat_kind(enum bench_mode m)
{
	return m == BENCH_PINGPONG ? "pingpong" : m == BENCH_RATE ? "rate" : "";
}

const char *bench_wait_name(enum bench_wait w)
{
	return w == BENCH_SPIN ? "spin" : w == BENCH_SLEEP ? "sleep" : "block";
}

const char *bench_api_name(enum bench_api a)
{
	return a == BENCH_ZEROCOPY ? "zerocopy" : "copy";
}

static const char *si_num(double v, char *buf, size_t n)
{
	static const char *const unit[] = { "", "k", "M", "G", "T" };
	int u = 0;

	while (fabs(v) >= 1000 && u < 4) {
		v /= 1000;
		u++;
	}
	snprintf(buf, n, v >= 100 ? "%.0f%s" : v >= 10 ? "%.1f%s" : "%.2f%s", v,
		 unit[u]);
	return buf;
}

static const char *ns_str(double ns, char *buf, size_t n)
{
	if (ns >= 1e6)
		snprintf(buf, n, "%.2fms", ns / 1e6);
	else if (ns >= 1e4)
		snprintf(buf, n, "%.1fus", ns / 1e3);
	else if (ns >= 1e3)
		snprintf(buf, n, "%.2fus", ns / 1e3);
	else
		snprintf(buf, n, "%.0fns", ns);
	return buf;
}

/* How many times better fev is: throughput fev/x, latency (p50) x/fev. */
static double fev_advantage(const struct bench_result *r)
{
	const struct bench_result *f = r->fev;

	if (f == NULL || f->runs == 0 || r->runs == 0)
		return NAN;
	if (r->cfg.mode == BENCH_THR)
		return r->events_per_s.med > 0 ? f->events_per_s.med / r->events_per_s.med : NAN;
	return f->lat_ns[0].med > 0 ? r->lat_ns[0].med / f->lat_ns[0].med : NAN;
}

void bench_report_header(const struct bench_report *r)
{
	const struct bench_sysinfo *si = r->si;

	printf("# fev-bench  %s\n", r->command);
	printf("# machine: %s, %d cores online, %s, governor %s\n", si->cpu_model,
	       si->cores_online, si->kernel, si->governor);
	printf("# medians of %u alternating runs (min..max); \"fev adv\" = how "
	       "many times better fev is\n#   (throughput: fev/x events/s; "
	       "latency: x/fev at p50).  Payload: header written and\n#   checked, "
	       "rest untouched.  Latency: one-way (ping-pong RTT/2, or due time "
	       "to receipt).\n",
	       r->runs);
}

static void thr_header(void)
{
	printf("\n%-8s %7s %5s %-5s %-8s %5s | %9s %21s %9s | %8s  %s\n",
	       "thr", "size", "PxQ", "wait", "api", "batch", "events/s",
	       "(min..max)", "MB/s", "fev adv", "notes");
}

static void lat_header(enum bench_mode m)
{
	printf("\n%-8s %7s %5s %-5s %-8s |", m == BENCH_RATE ? "rate" : "pingpg",
	       "size", "PxQ", "wait", "api");
	for (int i = 0; i < BENCH_NPCT; i++)
		printf(" %8s", bench_pct_name[i]);
	printf(" %9s | %8s  %s\n", "p50 range", "fev adv", "notes");
}

static bool new_table(const struct bench_report *r, const struct bench_result *res)
{
	const struct bench_result *prev;

	if (r->n < 2)
		return true;
	prev = &r->res[r->n - 2];
	return prev->cfg.mode != res->cfg.mode;
}

static void notes(const struct bench_result *res)
{
	if (res->skipped)
		printf("  skipped: %s%s%s", res->skipped, res->err[0] ? ": " : "",
		       res->err);
	else if (res->failed)
		printf("  FAILED %d run(s): %s", res->failed, res->err);
	else if (res->t->name[0] != 'f' || res->t == &bench_floor)
		printf("  %s", res->wait_note);
	printf("\n");
}

void bench_report_line(const struct bench_report *r, const struct bench_result *res)
{
	const struct bench_cfg *c = &res->cfg;
	char a[16], b[16], d[16], e[16], pq[16];
	double adv = fev_advantage(res);

	if (new_table(r, res)) {
		if (c->mode == BENCH_THR)
			thr_header();
		else
			lat_header(c->mode);
	}
	snprintf(pq, sizeof(pq), "%ux%u", c->producers, c->consumers);
	printf("%-8s %7zu %5s %-5s %-8s", res->t->name, c->size, pq,
	       bench_wait_name(c->wait), bench_api_name(c->api));
	if (c->mode == BENCH_THR) {
		printf(" %5u |", c->batch);
		if (res->runs == 0) {
			printf(" %9s %21s %9s | %8s", "-", "", "-", "-");
		} else {
			char range[40];

			snprintf(range, sizeof(range), "(%s..%s)",
				 si_num(res->events_per_s.min, b, sizeof(b)),
				 si_num(res->events_per_s.max, d, sizeof(d)));
			printf(" %9s %21s %9.1f | %7.2fx",
			       si_num(res->events_per_s.med, a, sizeof(a)), range,
			       res->bytes_per_s.med / 1e6, adv);
		}
	} else {
		printf(" |");
		for (int i = 0; i < BENCH_NPCT; i++)
			printf(" %8s", res->runs ? ns_str(res->lat_ns[i].med, a, sizeof(a)) : "-");
		if (res->runs) {
			char range[40];

			snprintf(range, sizeof(range), "%s..%s",
				 ns_str(res->lat_ns[0].min, d, sizeof(d)),
				 ns_str(res->lat_ns[0].max, e, sizeof(e)));
			printf(" %9s | %7.2fx", range, adv);
		} else {
			printf(" %9s | %8s", "", "-");
		}
	}
	notes(res);
}

void bench_report_pinning(const struct bench_report *r)
{
	const struct bench_result *res = NULL;

	for (size_t i = 0; i < r->n; i++)
		if (r->res[i].runs > 0 && &r->res[i] == r->res[i].fev) {
			res = &r->res[i];
			break;
		}
	if (res == NULL)
		return;
	if (res->cfg.ncpus == 0) {
		printf("\n# pinning: none (--cpus not given); the scheduler placed "
		       "processes, last seen on:");
		for (int p = 0; p < res->nproc; p++)
			printf(" %s=cpu%d", bench_role_name(&res->cfg, p), res->cpu_of[p]);
		printf("\n");
		return;
	}
	printf("\n# pinning (--cpus; producer i on the i-th listed cpu, consumer i "
	       "on the next):");
	for (int p = 0; p < res->nproc; p++)
		printf(" %s=cpu%d", bench_role_name(&res->cfg, p),
		       bench_cpu_of(&res->cfg, p));
	printf("\n");
	for (int i = 0; i < res->cfg.ncpus; i++)
		for (int j = i + 1; j < res->cfg.ncpus; j++) {
			int s = bench_cpus_are_siblings(r->si, res->cfg.cpus[i],
							res->cfg.cpus[j]);

			printf("#   cpu%d and cpu%d: %s\n", res->cfg.cpus[i],
			       res->cfg.cpus[j],
			       s == 1 ? "hyper-thread siblings (same core)" :
			       s == 0 ? "different cores (not HT siblings)" :
					"unknown topology");
		}
}

/* ---- JSON ------------------------------------------------------------ */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s != NULL && *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void json_num(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, "%.6g", v);
	else
		fputs("null", f);
}

static void json_stat(FILE *f, const char *key, struct bench_stat s, bool have)
{
	fprintf(f, ", \"%s\": ", key);
	have ? json_num(f, s.med) : (void)fputs("null", f);
	fprintf(f, ", \"%s_min\": ", key);
	have ? json_num(f, s.min) : (void)fputs("null", f);
	fprintf(f, ", \"%s_max\": ", key);
	have ? json_num(f, s.max) : (void)fputs("null", f);
}

static int siblings_of(const struct bench_report *r, const struct bench_cfg *c)
{
	int any = 0;

	for (int i = 0; i < c->ncpus; i++)
		for (int j = i + 1; j < c->ncpus; j++) {
			int s = bench_cpus_are_siblings(r->si, c->cpus[i], c->cpus[j]);

			if (s < 0)
				return -1;
			if (c->cpus[i] != c->cpus[j])
				any |= s;
		}
	return c->ncpus ? any : -1;
}

static void json_result(FILE *f, const struct bench_report *r,
			const struct bench_result *res)
{
	const struct bench_cfg *c = &res->cfg;
	bool have = res->runs > 0;
	int sib = siblings_of(r, c);

	fprintf(f, "    {\"transport\": ");
	json_str(f, res->t->name);
	fprintf(f, ", \"mode\": \"%s\", \"latency\": \"%s\", \"size\": %zu, "
		   "\"producers\": %u, \"consumers\": %u, \"wait\": \"%s\", "
		   "\"api\": \"%s\", \"batch\": %u, \"rate\": ",
		bench_mode_name(c->mode), lat_kind(c->mode), c->size, c->producers,
		c->consumers, bench_wait_name(c->wait), bench_api_name(c->api),
		c->batch);
	json_num(f, c->rate);
	fprintf(f, ", \"duration_s\": ");
	json_num(f, c->count ? 0 : c->duration_s);
	fprintf(f, ", \"count\": %llu, \"runs\": %u, \"failed\": %d, \"skipped\": ",
		(unsigned long long)c->count, res->runs, res->failed);
	res->skipped ? json_str(f, res->skipped) : (void)fputs("null", f);
	fprintf(f, ", \"error\": ");
	res->err[0] ? json_str(f, res->err) : (void)fputs("null", f);
	fprintf(f, ", \"wait_note\": ");
	json_str(f, res->wait_note);
	json_stat(f, "events_per_s", res->events_per_s, have);
	json_stat(f, "bytes_per_s", res->bytes_per_s, have);
	for (int i = 0; i < BENCH_NPCT; i++)
		json_stat(f, pct_key[i], res->lat_ns[i], have && c->mode != BENCH_THR);
	fprintf(f, ", \"fev_advantage\": ");
	json_num(f, fev_advantage(res));
	fprintf(f, ", \"cpus\": [");
	for (int p = 0; have && p < res->nproc; p++) {
		fprintf(f, "%s{\"role\": \"%s\", \"cpu\": %d, \"pinned\": %s}",
			p ? ", " : "", bench_role_name(c, p),
			c->ncpus ? bench_cpu_of(c, p) : res->cpu_of[p],
			c->ncpus ? "true" : "false");
	}
	fprintf(f, "], \"ht_siblings\": %s}", sib < 0 ? "null" : sib ? "true" : "false");
}

int bench_report_json(const struct bench_report *r, const char *path)
{
	const struct bench_sysinfo *si = r->si;
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		fprintf(stderr, "fev-bench: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	fprintf(f, "{\n  \"tool\": \"fev-bench\",\n  \"command\": ");
	json_str(f, r->command);
	fprintf(f, ",\n  \"runs\": %u,\n  \"machine\": {\"cpu_model\": ", r->runs);
	json_str(f, si->cpu_model);
	fprintf(f, ", \"cores\": %d, \"kernel\": ", si->cores_online);
	json_str(f, si->kernel);
	fprintf(f, ", \"governor\": ");
	json_str(f, si->governor);
	fprintf(f, ", \"thread_siblings\": [");
	for (int i = 0; i < si->ncpu; i++) {
		fprintf(f, "%s", i ? ", " : "");
		json_str(f, si->siblings[i]);
	}
	fprintf(f, "]},\n  \"results\": [\n");
	for (size_t i = 0; i < r->n; i++) {
		json_result(f, r, &r->res[i]);
		fprintf(f, "%s\n", i + 1 < r->n ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
	return fclose(f) == 0 ? 0 : -EIO;
}

/* ---- CSV ------------------------------------------------------------- */

static void csv_stat(FILE *f, struct bench_stat s, bool have)
{
	if (have)
		fprintf(f, ",%.6g,%.6g,%.6g", s.med, s.min, s.max);
	else
		fprintf(f, ",,,");
}

int bench_report_csv(const struct bench_report *r, const char *path)
{
	const struct bench_sysinfo *si = r->si;
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		fprintf(stderr, "fev-bench: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	fprintf(f, "transport,mode,latency,size,producers,consumers,wait,api,batch,"
		   "rate,runs,failed,skipped,events_per_s,events_per_s_min,"
		   "events_per_s_max,bytes_per_s,bytes_per_s_min,bytes_per_s_max");
	for (int i = 0; i < BENCH_NPCT; i++)
		fprintf(f, ",%s,%s_min,%s_max", pct_key[i], pct_key[i], pct_key[i]);
	fprintf(f, ",fev_advantage,cpu_model,cores,kernel,governor\n");
	for (size_t i = 0; i < r->n; i++) {
		const struct bench_result *res = &r->res[i];
		const struct bench_cfg *c = &res->cfg;
		bool have = res->runs > 0;
		double adv = fev_advantage(res);

		fprintf(f, "%s,%s,%s,%zu,%u,%u,%s,%s,%u,%g,%u,%d,%s", res->t->name,
			bench_mode_name(c->mode), lat_kind(c->mode), c->size,
			c->producers, c->consumers, bench_wait_name(c->wait),
			bench_api_name(c->api), c->batch, c->rate, res->runs,
			res->failed, res->skipped ? "yes" : "");
		csv_stat(f, res->events_per_s, have);
		csv_stat(f, res->bytes_per_s, have);
		for (int p = 0; p < BENCH_NPCT; p++)
			csv_stat(f, res->lat_ns[p], have && c->mode != BENCH_THR);
		if (isfinite(adv))
			fprintf(f, ",%.4g", adv);
		else
			fprintf(f, ",");
		fprintf(f, ",\"%s\",%d,\"%s\",\"%s\"\n", si->cpu_model,
			si->cores_online, si->kernel, si->governor);
	}
	return fclose(f) == 0 ? 0 : -EIO;
}
