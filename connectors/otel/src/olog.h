/*
 * fev-otel logs through fevd's log (daemon/src/log.h): the same levels,
 * journald priority prefixes and syslog switch, under its own name.
 */
#ifndef FOT_OLOG_H
#define FOT_OLOG_H

#include "log.h"

#define fot_log_err(...) fevd_log(FEVD_LOG_ERROR, __VA_ARGS__)
#define fot_log_warn(...) fevd_log(FEVD_LOG_WARNING, __VA_ARGS__)
#define fot_log_notice(...) fevd_log(FEVD_LOG_NOTICE, __VA_ARGS__)
#define fot_log_info(...) fevd_log(FEVD_LOG_INFO, __VA_ARGS__)

#endif /* FOT_OLOG_H */
