package grains

import (
	"bufio"
	"regexp"
	"strconv"
	"strings"
)

// ParseOSRelease parses the KEY=value lines of /etc/os-release (shell
// quoting with single or double quotes, comments and blank lines ignored).
func ParseOSRelease(text string) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
			q := v[0]
			v = v[1 : len(v)-1]
			if q == '"' {
				v = strings.NewReplacer(`\"`, `"`, `\\`, `\`, `\$`, `$`, "\\`", "`").Replace(v)
			}
		}
		out[strings.TrimSpace(k)] = v
	}
	return out
}

// osNames maps os-release IDs to Salt's "os" grain.
var osNames = map[string]string{
	"debian": "Debian", "ubuntu": "Ubuntu", "raspbian": "Raspbian", "linuxmint": "Mint", "pop": "Pop",
	"devuan": "Devuan", "kali": "Kali", "neon": "KDE neon", "elementary": "elementary OS", "deepin": "Deepin",
	"centos": "CentOS", "rhel": "RedHat", "fedora": "Fedora", "rocky": "Rocky", "almalinux": "AlmaLinux",
	"ol": "OEL", "amzn": "Amazon", "cloudlinux": "CloudLinux", "scientific": "ScientificLinux",
	"openEuler": "openEuler", "openeuler": "openEuler", "alinux": "Alinux", "virtuozzo": "Virtuozzo",
	"sles": "SUSE", "sled": "SUSE", "opensuse-leap": "Leap", "opensuse-tumbleweed": "Tumbleweed", "opensuse": "openSUSE",
	"arch": "Arch", "archarm": "Arch ARM", "manjaro": "Manjaro", "endeavouros": "EndeavourOS", "antergos": "Antergos",
	"alpine": "Alpine", "gentoo": "Gentoo", "funtoo": "Funtoo", "void": "Void", "nixos": "NixOS",
	"slackware": "Slackware", "mageia": "Mageia", "altlinux": "ALT", "photon": "VMware Photon OS",
	"clear-linux-os": "Clear", "flatcar": "Flatcar", "coreos": "CoreOS",
}

// osFamilies maps Salt's "os" grain to "os_family"; an os not listed is its
// own family (Debian, RedHat, Alpine, Gentoo, ...).
var osFamilies = map[string]string{
	"Ubuntu": "Debian", "Raspbian": "Debian", "Mint": "Debian", "Pop": "Debian", "Devuan": "Debian",
	"Kali": "Debian", "KDE neon": "Debian", "elementary OS": "Debian", "Deepin": "Debian",
	"CentOS": "RedHat", "Fedora": "RedHat", "Rocky": "RedHat", "AlmaLinux": "RedHat", "OEL": "RedHat",
	"Amazon": "RedHat", "CloudLinux": "RedHat", "ScientificLinux": "RedHat", "openEuler": "RedHat",
	"Alinux": "RedHat", "Virtuozzo": "RedHat", "ALT": "RedHat", "VMware Photon OS": "RedHat",
	"SUSE": "Suse", "Leap": "Suse", "Tumbleweed": "Suse", "openSUSE": "Suse",
	"Arch ARM": "Arch", "Manjaro": "Arch", "EndeavourOS": "Arch", "Antergos": "Arch",
	"Funtoo": "Gentoo",
}

// likeFamilies is the fallback from ID_LIKE for distributions not listed.
var likeFamilies = []struct{ like, family string }{
	{"debian", "Debian"}, {"ubuntu", "Debian"}, {"rhel", "RedHat"}, {"fedora", "RedHat"}, {"centos", "RedHat"},
	{"suse", "Suse"}, {"arch", "Arch"}, {"gentoo", "Gentoo"}, {"alpine", "Alpine"},
}

var codenameInVersion = regexp.MustCompile(`\(([^)]+)\)`)

// OSGrains derives Salt's os grains from /etc/os-release fields:
// os, os_family, osrelease, osrelease_info, osmajorrelease, osminorrelease,
// oscodename, osfullname, osfinger.
func OSGrains(rel map[string]string) map[string]any {
	g := map[string]any{}
	id := strings.ToLower(rel["ID"])
	osName, known := osNames[id]
	if !known {
		osName = rel["NAME"]
		if osName == "" {
			osName = "Linux"
		}
		if id != "" && rel["NAME"] == "" {
			osName = strings.ToUpper(id[:1]) + id[1:]
		}
	}
	family, ok := osFamilies[osName]
	if !ok {
		family = osName
		if !known {
			for _, l := range likeFamilies {
				if containsWord(rel["ID_LIKE"], l.like) {
					family = l.family
					break
				}
			}
		}
	}
	g["os"] = osName
	g["os_family"] = family
	full := rel["NAME"]
	if full == "" {
		full = osName
	}
	g["osfullname"] = full

	release := rel["VERSION_ID"]
	if release == "" && id == "arch" {
		release = "rolling"
	}
	g["osrelease"] = release
	var info []any
	for _, p := range strings.Split(release, ".") {
		n, err := strconv.Atoi(p)
		if err != nil {
			info = nil
			break
		}
		info = append(info, n)
	}
	if len(info) > 0 {
		g["osrelease_info"] = info
		g["osmajorrelease"] = info[0]
		if len(info) > 1 {
			g["osminorrelease"] = info[1]
		}
	}
	code := rel["VERSION_CODENAME"]
	if code == "" {
		code = rel["UBUNTU_CODENAME"]
	}
	if code == "" {
		if m := codenameInVersion.FindStringSubmatch(rel["VERSION"]); m != nil {
			code = m[1]
		}
	}
	g["oscodename"] = code
	finger := osName
	if len(info) > 0 {
		// Salt's osfinger is "<os>-<major>" (Ubuntu keeps "22.04").
		major := strconv.Itoa(info[0].(int))
		if osName == "Ubuntu" {
			major = release
		}
		finger += "-" + major
	} else if release != "" {
		finger += "-" + release
	}
	g["osfinger"] = finger
	return g
}

func containsWord(list, w string) bool {
	for _, f := range strings.Fields(strings.ToLower(list)) {
		if f == w {
			return true
		}
	}
	return false
}

// OSArch is the package architecture name the distribution uses (Debian's
// amd64, RedHat's x86_64) for a kernel machine name.
func OSArch(family, machine string) string {
	if family != "Debian" {
		return machine
	}
	switch machine {
	case "x86_64":
		return "amd64"
	case "aarch64":
		return "arm64"
	case "i386", "i486", "i586", "i686":
		return "i386"
	case "armv7l":
		return "armhf"
	case "ppc64le":
		return "ppc64el"
	}
	return machine
}
