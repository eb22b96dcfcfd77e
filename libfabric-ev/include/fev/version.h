#ifndef FEV_VERSION_H
#define FEV_VERSION_H

#define FEV_VERSION_MAJOR 0
#define FEV_VERSION_MINOR 1
#define FEV_VERSION_PATCH 0
#define FEV_VERSION_STRING "0.1.0"

/* Shared-memory ABI: segments of another major version are refused. */
#define FEV_ABI_MAJOR 1
#define FEV_ABI_MINOR 4

#endif /* FEV_VERSION_H */
