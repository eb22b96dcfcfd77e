/* fev-bench webhooks (webhooks.c): fev-webhooks against curl and a
 * minimal keep-alive client, in one run. */
#ifndef FEV_BENCH_WEBHOOKS_H
#define FEV_BENCH_WEBHOOKS_H

int bench_webhooks_main(int argc, char **argv);

#endif /* FEV_BENCH_WEBHOOKS_H */
