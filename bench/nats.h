/* fev-bench nats (nats.c): fev-nats against plain libnats clients on the
 * same nats-server, in one run. */
#ifndef FEV_BENCH_NATS_H
#define FEV_BENCH_NATS_H

int bench_nats_main(int argc, char **argv);

#endif /* FEV_BENCH_NATS_H */
