/*
 * --plot FILE.png: one PNG, drawn by gnuplot, with a throughput bar chart
 * (every throughput configuration, one bar per transport, log scale) above
 * latency percentile plots (ping-pong at one size, one line per transport,
 * log scale; one panel per wait mode).  The data go through a temporary
 * directory that is removed afterwards.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define MAX_T 8

static int transports(const struct bench_report *r, const struct bench_transport **ts)
{
	int n = 0;

	for (size_t i = 0; i < r->n; i++) {
		int j = 0;

		while (j < n && ts[j] != r->res[i].t)
			j++;
		if (j == n && n < MAX_T)
			ts[n++] = r->res[i].t;
	}
	return n;
}

static const struct bench_result *find(const struct bench_report *r,
				       const struct bench_result *like,
				       const struct bench_transport *t)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct bench_result *x = &r->res[i];

		if (x->t == t && x->fev == like->fev)
			return x->runs ? x : NULL;
	}
	return NULL;
}

static const char *size_label(size_t s, char *buf, size_t n)
{
	if (s >= 1024 && s % 1024 == 0)
		snprintf(buf, n, "%zuK", s / 1024);
	else
		snprintf(buf, n, "%zu", s);
	return buf;
}

/* thr.dat: one row per configuration, one column per transport. */
static int write_thr(const struct bench_report *r, const char *dir,
		     const struct bench_transport **ts, int nt)
{
	char path[256], sz[24];
	int rows = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/thr.dat", dir);
	if ((f = fopen(path, "w")) == NULL)
		return -errno;
	for (size_t i = 0; i < r->n; i++) {
		const struct bench_result *x = &r->res[i];

		if (x->t != &bench_fev || x->cfg.mode != BENCH_THR)
			continue;
		fprintf(f, "\"%sB %ux%u %s%s\"", size_label(x->cfg.size, sz, sizeof(sz)),
			x->cfg.producers, x->cfg.consumers,
			bench_wait_name(x->cfg.wait),
			x->cfg.api == BENCH_ZEROCOPY ? " zc" : "");
		for (int t = 0; t < nt; t++) {
			const struct bench_result *y = find(r, x, ts[t]);

			if (y)
				fprintf(f, " %g", y->events_per_s.med);
			else
				fprintf(f, " NaN");
		}
		fprintf(f, "\n");
		rows++;
	}
	fclose(f);
	return rows;
}

/* lat-WAIT.dat: one row per percentile, one column per transport, for the
 * ping-pong configuration of the chosen size and that wait mode. */
static int write_lat(const struct bench_report *r, const char *dir,
		     const struct bench_transport **ts, int nt, enum bench_wait w,
		     size_t size)
{
	const struct bench_result *fev = NULL;
	char path[256];
	FILE *f;

	for (size_t i = 0; i < r->n && fev == NULL; i++)
		if (r->res[i].t == &bench_fev && r->res[i].cfg.mode == BENCH_PINGPONG &&
		    r->res[i].cfg.wait == w && r->res[i].cfg.size == size)
			fev = &r->res[i];
	if (fev == NULL)
		return 0;
	snprintf(path, sizeof(path), "%s/lat-%s.dat", dir, bench_wait_name(w));
	if ((f = fopen(path, "w")) == NULL)
		return -errno;
	for (int p = 0; p < BENCH_NPCT; p++) {
		fprintf(f, "\"%s\"", bench_pct_name[p]);
		for (int t = 0; t < nt; t++) {
			const struct bench_result *y = find(r, fev, ts[t]);

			if (y)
				fprintf(f, " %g", y->lat_ns[p].med);
			else
				fprintf(f, " NaN");
		}
		fprintf(f, "\n");
	}
	fclose(f);
	return 1;
}

static size_t lat_size(const struct bench_report *r)
{
	size_t first = 0;

	for (size_t i = 0; i < r->n; i++)
		if (r->res[i].cfg.mode == BENCH_PINGPONG) {
			if (r->res[i].cfg.size == 64)
				return 64;
			if (first == 0)
				first = r->res[i].cfg.size;
		}
	return first;
}

static void script(FILE *g, const struct bench_report *r, const char *dir,
		   const char *png, const struct bench_transport **ts, int nt,
		   int thr_rows, const bool *lat_w, int nlat, size_t lsize)
{
	static const char *const colour[MAX_T] = { "#d62728", "#1f77b4", "#2ca02c",
						   "#9467bd", "#ff7f0e", "#7f7f7f",
						   "#8c564b", "#e377c2" };
	int panels = (thr_rows > 0) + nlat;
	int width = thr_rows > 8 ? 200 + thr_rows * 55 : 1100;

	fprintf(g, "set terminal pngcairo size %d,%d font 'DejaVu Sans,11'\n",
		width < 1100 ? 1100 : width, 80 + panels * 430);
	fprintf(g, "set output '%s'\n", png);
	fprintf(g, "set multiplot layout %d,1 title \"fev-bench on %s (%d cores); "
		   "medians of %u runs\" font ',13'\n",
		panels, r->si->cpu_model, r->si->cores_online, r->runs);
	fprintf(g, "set key outside right top vertical\nset grid ytics mytics\n"
		   "set logscale y\n");
	if (thr_rows > 0) {
		fprintf(g, "set title 'Throughput (events/s, higher is better)'\n"
			   "set style data histograms\n"
			   "set style histogram clustered gap 1\n"
			   "set style fill solid 0.9 border -1\nset boxwidth 0.9\n"
			   "set xtics rotate by -40 left font ',9'\n"
			   "set format y '%%.0s%%c'\nset ylabel 'events/s'\n"
			   "set yrange [1e3:*]\nplot ");
		for (int t = 0; t < nt; t++)
			fprintf(g, "%s'%s/thr.dat' using %d:xtic(1) title '%s' lc rgb '%s'",
				t ? ", " : "", dir, t + 2, ts[t]->name, colour[t]);
		fprintf(g, "\nset style data linespoints\n"
			   "set yrange [*:*]\nset xtics norotate font ',11'\n");
	}
	for (int w = 0; w < 3; w++) {
		if (!lat_w[w])
			continue;
		fprintf(g, "set title 'Ping-pong one-way latency, %zu B, wait %s "
			   "(lower is better)'\n"
			   "set ylabel 'one-way latency'\nset format y '%%g'\n"
			   "set ytics (\"10ns\" 10, \"100ns\" 100, \"1us\" 1e3, "
			   "\"10us\" 1e4, \"100us\" 1e5, \"1ms\" 1e6, \"10ms\" 1e7, "
			   "\"100ms\" 1e8, \"1s\" 1e9)\nset xlabel 'percentile'\n"
			   "plot ",
			lsize, bench_wait_name((enum bench_wait)w));
		for (int t = 0; t < nt; t++)
			fprintf(g, "%s'%s/lat-%s.dat' using 0:%d:xtic(1) title '%s' "
				   "with linespoints lw 2 pt 7 lc rgb '%s'",
				t ? ", " : "", dir, bench_wait_name((enum bench_wait)w),
				t + 2, ts[t]->name, colour[t]);
		fprintf(g, "\nunset xlabel\n");
	}
	fprintf(g, "unset multiplot\n");
}

static void rm_dir(const char *dir)
{
	char path[256];
	const char *files[] = { "thr.dat", "lat-spin.dat", "lat-block.dat",
				"lat-sleep.dat" };

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

int bench_plot(const struct bench_report *r, const char *png)
{
	const struct bench_transport *ts[MAX_T];
	char dir[] = "/tmp/fev-bench-plot-XXXXXX";
	bool lat_w[3] = { false, false, false };
	int nt = transports(r, ts), rows, nlat = 0, rc;
	size_t lsize = lat_size(r);
	FILE *g;

	if (mkdtemp(dir) == NULL)
		return -errno;
	rows = write_thr(r, dir, ts, nt);
	for (int w = 0; w < 3 && rows >= 0 && lsize; w++)
		if (write_lat(r, dir, ts, nt, (enum bench_wait)w, lsize) > 0) {
			lat_w[w] = true;
			nlat++;
		}
	if (rows < 0 || rows + nlat == 0) {
		rm_dir(dir);
		fprintf(stderr, "fev-bench: --plot: nothing to plot\n");
		return rows < 0 ? rows : -ENODATA;
	}
	g = popen("gnuplot", "w");
	if (g == NULL) {
		rm_dir(dir);
		fprintf(stderr, "fev-bench: --plot: cannot run gnuplot\n");
		return -ENOENT;
	}
	script(g, r, dir, png, ts, nt, rows, lat_w, nlat, lsize);
	rc = pclose(g);
	rm_dir(dir);
	if (rc != 0) {
		fprintf(stderr, "fev-bench: --plot: gnuplot failed (status %d)\n", rc);
		return -EIO;
	}
	fprintf(stderr, "fev-bench: plot written to %s\n", png);
	return 0;
}
