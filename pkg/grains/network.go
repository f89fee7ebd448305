package grains

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"
)

// Iface is what the network grains need of one interface; tests build
// them by hand, Collect from net.Interfaces.
type Iface struct {
	Name   string
	HWAddr string
	Addrs  []string // IP addresses, with or without a /prefix
}

// SystemIfaces lists the host's interfaces.
func SystemIfaces() ([]Iface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("grains: interfaces: %w", err)
	}
	out := make([]Iface, 0, len(ifs))
	for _, i := range ifs {
		addrs, err := i.Addrs()
		if err != nil {
			return nil, fmt.Errorf("grains: addresses of %s: %w", i.Name, err)
		}
		ifc := Iface{Name: i.Name, HWAddr: i.HardwareAddr.String()}
		for _, a := range addrs {
			ifc.Addrs = append(ifc.Addrs, a.String())
		}
		out = append(out, ifc)
	}
	return out, nil
}

// NetworkGrains builds ipv4, ipv6, ip_interfaces, ip4_interfaces,
// ip6_interfaces and hwaddr_interfaces the way Salt does: addresses without
// prefix length or zone, loopback included, lists sorted; an interface with
// no MAC (loopback) has hwaddr "00:00:00:00:00:00".
func NetworkGrains(ifs []Iface) map[string]any {
	v4, v6 := map[string]bool{}, map[string]bool{}
	ipIf, ip4If, ip6If, hw := map[string]any{}, map[string]any{}, map[string]any{}, map[string]any{}
	for _, ifc := range ifs {
		var all, four, six []string
		for _, a := range ifc.Addrs {
			s, _, _ := strings.Cut(a, "/")
			addr, err := netip.ParseAddr(s)
			if err != nil {
				continue
			}
			addr = addr.WithZone("")
			if addr.Is4In6() {
				addr = addr.Unmap()
			}
			str := addr.String()
			all = append(all, str)
			if addr.Is4() {
				four = append(four, str)
				v4[str] = true
			} else {
				six = append(six, str)
				v6[str] = true
			}
		}
		ipIf[ifc.Name] = toAny(all)
		ip4If[ifc.Name] = toAny(four)
		ip6If[ifc.Name] = toAny(six)
		mac := ifc.HWAddr
		if mac == "" {
			mac = "00:00:00:00:00:00"
		}
		hw[ifc.Name] = mac
	}
	return map[string]any{
		"ipv4":              sortedKeys(v4),
		"ipv6":              sortedKeys(v6),
		"ip_interfaces":     ipIf,
		"ip4_interfaces":    ip4If,
		"ip6_interfaces":    ip6If,
		"hwaddr_interfaces": hw,
	}
}

func toAny(ss []string) []any {
	out := make([]any, 0, len(ss))
	for _, s := range ss {
		out = append(out, s)
	}
	return out
}

func sortedKeys(m map[string]bool) []any {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return toAny(ks)
}

// ParseResolvConf builds Salt's dns grain from /etc/resolv.conf:
// nameservers, ip4_nameservers, ip6_nameservers, search, domain, options.
func ParseResolvConf(text string) map[string]any {
	var ns, ns4, ns6, search, options []string
	domain := ""
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		f := strings.Fields(line)
		switch f[0] {
		case "nameserver":
			if len(f) < 2 {
				continue
			}
			a, err := netip.ParseAddr(f[1])
			if err != nil {
				continue
			}
			ns = append(ns, a.String())
			if a.Is4() {
				ns4 = append(ns4, a.String())
			} else {
				ns6 = append(ns6, a.String())
			}
		case "search":
			search = f[1:]
		case "domain":
			if len(f) > 1 {
				domain = f[1]
			}
		case "options":
			options = append(options, f[1:]...)
		}
	}
	return map[string]any{
		"nameservers": toAny(ns), "ip4_nameservers": toAny(ns4), "ip6_nameservers": toAny(ns6),
		"search": toAny(search), "domain": domain, "options": toAny(options),
	}
}
