/*
 * --plot FILE.png: one PNG, drawn by gnuplot, with a throughput bar chart
 * (every throughput configuration, one bar per transport, log scale) above
 * latency percentile plots (ping-pong at one size, one line per transport,
 * log scale; one panel per wait mode, then the --rate test if any).  The data go through a temporary
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

static size_t lat_size(const struct bench_report *r);

/* A latency panel: the fev result whose configuration it shows. */
struct panel {
	const struct bench_result *fev;
	char file[32];
	char title[160];
};

/* lat-N.dat: one row per percentile, one column per transport. */
static int write_lat(const struct bench_report *r, const char *dir,
		     const struct bench_transport **ts, int nt, int idx,
		     struct panel *p)
{
	char path[256];
	FILE *f;

	snprintf(p->file, sizeof(p->file), "lat-%d.dat", idx);
	snprintf(path, sizeof(path), "%s/%s", dir, p->file);
	if ((f = fopen(path, "w")) == NULL)
		return -errno;
	for (int q = 0; q < BENCH_NPCT; q++) {
		fprintf(f, "\"%s\"", bench_pct_name[q]);
		for (int t = 0; t < nt; t++) {
			const struct bench_result *y = find(r, p->fev, ts[t]);

			if (y)
				fprintf(f, " %g", y->lat_ns[q].med);
			else
				fprintf(f, " NaN");
		}
		fprintf(f, "\n");
	}
	fclose(f);
	return 0;
}

/* Ping-pong at one size (64 B if measured), one panel per wait mode; then
 * the first rate test. */
static int pick_panels(const struct bench_report *r, struct panel *p, int max)
{
	size_t size = lat_size(r);
	int n = 0;

	for (int w = 0; w < 3; w++)
		for (size_t i = 0; i < r->n && n < max; i++) {
			const struct bench_result *x = &r->res[i];

			if (x->t != &bench_fev || x->cfg.mode != BENCH_PINGPONG ||
			    x->cfg.wait != (enum bench_wait)w || x->cfg.size != size)
				continue;
			p[n].fev = x;
			snprintf(p[n++].title, sizeof(p[0].title),
				 "Ping-pong one-way latency, %zu B, wait %s", size,
				 bench_wait_name((enum bench_wait)w));
			break;
		}
	for (size_t i = 0; i < r->n && n < max; i++) {
		const struct bench_result *x = &r->res[i];

		if (x->t != &bench_fev || x->cfg.mode != BENCH_RATE)
			continue;
		p[n].fev = x;
		snprintf(p[n++].title, sizeof(p[0].title),
			 "One-way latency at %.0f events/s offered, %zu B, wait %s",
			 x->cfg.rate, x->cfg.size, bench_wait_name(x->cfg.wait));
		break;
	}
	return n;
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
		   int thr_rows, const struct panel *lat, int nlat)
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
	for (int i = 0; i < nlat; i++) {
		fprintf(g, "set title '%s (lower is better)'\n"
			   "set ylabel 'one-way latency'\nset format y '%%g'\n"
			   "set ytics (\"10ns\" 10, \"100ns\" 100, \"1us\" 1e3, "
			   "\"10us\" 1e4, \"100us\" 1e5, \"1ms\" 1e6, \"10ms\" 1e7, "
			   "\"100ms\" 1e8, \"1s\" 1e9)\nset xlabel 'percentile'\n"
			   "plot ",
			lat[i].title);
		for (int t = 0; t < nt; t++)
			fprintf(g, "%s'%s/%s' using 0:%d:xtic(1) title '%s' "
				   "with linespoints lw 2 pt 7 lc rgb '%s'",
				t ? ", " : "", dir, lat[i].file, t + 2, ts[t]->name,
				colour[t]);
		fprintf(g, "\nunset xlabel\n");
	}
	fprintf(g, "unset multiplot\n");
}

static void rm_dir(const char *dir)
{
	char path[256];
	const char *files[] = { "thr.dat", "lat-0.dat", "lat-1.dat", "lat-2.dat",
				"lat-3.dat" };

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
	struct panel lat[4];
	int nt = transports(r, ts), rows, nlat = pick_panels(r, lat, 4), rc = 0;
	FILE *g;

	if (mkdtemp(dir) == NULL)
		return -errno;
	rows = write_thr(r, dir, ts, nt);
	for (int i = 0; i < nlat && rows >= 0 && rc == 0; i++)
		rc = write_lat(r, dir, ts, nt, i, &lat[i]);
	if (rc < 0)
		rows = rc;
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
	script(g, r, dir, png, ts, nt, rows, lat, nlat);
	rc = pclose(g);
	rm_dir(dir);
	if (rc != 0) {
		fprintf(stderr, "fev-bench: --plot: gnuplot failed (status %d)\n", rc);
		return -EIO;
	}
	fprintf(stderr, "fev-bench: plot written to %s\n", png);
	return 0;
}
