/* Machine facts for the report, from /proc and sysfs. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench.h"

static void read_line(const char *path, char *buf, size_t n, const char *dflt)
{
	FILE *f = fopen(path, "r");

	snprintf(buf, n, "%s", dflt);
	if (f == NULL)
		return;
	if (fgets(buf, (int)n, f) == NULL)
		snprintf(buf, n, "%s", dflt);
	buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

static void cpu_model(char *buf, size_t n)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];

	snprintf(buf, n, "unknown");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) == 0 && colon != NULL) {
			colon += strspn(colon + 1, " \t") + 1;
			colon[strcspn(colon, "\n")] = '\0';
			snprintf(buf, n, "%s", colon);
			break;
		}
	}
	fclose(f);
}

void bench_sysinfo_read(struct bench_sysinfo *si)
{
	struct utsname u;
	char path[128];

	memset(si, 0, sizeof(*si));
	cpu_model(si->cpu_model, sizeof(si->cpu_model));
	si->cores_online = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (uname(&u) == 0)
		snprintf(si->kernel, sizeof(si->kernel), "%s %s %s", u.sysname,
			 u.release, u.machine);
	read_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor",
		  si->governor, sizeof(si->governor), "n/a (no cpufreq)");
	si->ncpu = (int)sysconf(_SC_NPROCESSORS_CONF);
	if (si->ncpu > BENCH_MAX_CPUS)
		si->ncpu = BENCH_MAX_CPUS;
	for (int i = 0; i < si->ncpu; i++) {
		snprintf(path, sizeof(path),
			 "/sys/devices/system/cpu/cpu%d/topology/thread_siblings_list", i);
		read_line(path, si->siblings[i], sizeof(si->siblings[i]), "");
	}
}

/* "0-3,8" into a list of numbers; count, or -1 when malformed. */
int bench_parse_cpus(const char *list, int *out, int max)
{
	int n = 0;
	const char *s = list;

	while (*s != '\0') {
		char *end;
		long a = strtol(s, &end, 10), b;

		if (end == s || a < 0 || a >= BENCH_MAX_CPUS)
			return -1;
		b = a;
		s = end;
		if (*s == '-') {
			b = strtol(s + 1, &end, 10);
			if (end == s + 1 || b < a || b >= BENCH_MAX_CPUS)
				return -1;
			s = end;
		}
		for (long c = a; c <= b; c++) {
			if (n >= max)
				return -1;
			out[n++] = (int)c;
		}
		if (*s == ',')
			s++;
		else if (*s != '\0')
			return -1;
	}
	return n;
}

int bench_cpus_are_siblings(const struct bench_sysinfo *si, int a, int b)
{
	int sib[BENCH_MAX_CPUS];
	int n;

	if (a < 0 || a >= si->ncpu || si->siblings[a][0] == '\0')
		return -1;
	if (a == b)
		return 1;
	n = bench_parse_cpus(si->siblings[a], sib, BENCH_MAX_CPUS);
	for (int i = 0; i < n; i++)
		if (sib[i] == b)
			return 1;
	return n < 0 ? -1 : 0;
}
