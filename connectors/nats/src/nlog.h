/*
 * fev-nats logs through fevd's log (daemon/src/log.h): the same levels,
 * journald priority prefixes and syslog switch, under its own name.
 */
#ifndef FNB_NLOG_H
#define FNB_NLOG_H

#include "log.h"

#define fnb_log_err(...) fevd_log(FEVD_LOG_ERROR, __VA_ARGS__)
#define fnb_log_warn(...) fevd_log(FEVD_LOG_WARNING, __VA_ARGS__)
#define fnb_log_notice(...) fevd_log(FEVD_LOG_NOTICE, __VA_ARGS__)
#define fnb_log_info(...) fevd_log(FEVD_LOG_INFO, __VA_ARGS__)
#define fnb_log_debug(...) fevd_log(FEVD_LOG_DEBUG, __VA_ARGS__)

#endif /* FNB_NLOG_H */
