/*
 * `fev-webhooks ctl`: inspect and steer deliveries through the store (the
 * daemon reads what ctl writes on its next tick, within a second; ctl works
 * while the daemon is down too).
 */
#ifndef FWH_CTL_H
#define FWH_CTL_H

/* argv[0] is "ctl".  Returns the exit status. */
int fwh_ctl_main(int argc, char **argv, const char *default_config);

#endif /* FWH_CTL_H */
