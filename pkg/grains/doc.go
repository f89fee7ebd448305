// Package grains collects the facts a minion reports about itself (id, fqdn,
// os, os_family, kernel, cpus, memory, IP addresses, virtualisation, ...)
// with Salt's grain names and value shapes, so that targets (G@os:Debian)
// and templates written for Salt keep working. Static grains from the
// minion config override collected ones.
package grains
