package grains

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
)

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestOSGrains(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, release string
		want          map[string]any
	}{
		{"debian 12", `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian`, map[string]any{"os": "Debian", "os_family": "Debian", "osrelease": "12", "osmajorrelease": 12,
			"oscodename": "bookworm", "osfullname": "Debian GNU/Linux", "osfinger": "Debian-12", "osrelease_info": []any{12}}},
		{"ubuntu 22.04", `NAME="Ubuntu"
VERSION_ID="22.04"
VERSION="22.04.3 LTS (Jammy Jellyfish)"
ID=ubuntu
ID_LIKE=debian
UBUNTU_CODENAME=jammy`, map[string]any{"os": "Ubuntu", "os_family": "Debian", "osrelease": "22.04", "osmajorrelease": 22,
			"osminorrelease": 4, "oscodename": "jammy", "osfinger": "Ubuntu-22.04"}},
		{"centos stream 9", `NAME="CentOS Stream"
VERSION="9"
ID="centos"
ID_LIKE="rhel fedora"
VERSION_ID="9"`, map[string]any{"os": "CentOS", "os_family": "RedHat", "osrelease": "9", "osmajorrelease": 9, "osfinger": "CentOS-9"}},
		{"rocky 9.3", `NAME="Rocky Linux"
VERSION="9.3 (Blue Onyx)"
ID="rocky"
VERSION_ID="9.3"`, map[string]any{"os": "Rocky", "os_family": "RedHat", "osrelease": "9.3", "osmajorrelease": 9, "oscodename": "Blue Onyx"}},
		{"rhel", `NAME="Red Hat Enterprise Linux"
ID="rhel"
VERSION_ID="8.9"`, map[string]any{"os": "RedHat", "os_family": "RedHat", "osfullname": "Red Hat Enterprise Linux"}},
		{"opensuse leap", `NAME="openSUSE Leap"
VERSION="15.5"
ID="opensuse-leap"
ID_LIKE="suse opensuse"
VERSION_ID="15.5"`, map[string]any{"os": "Leap", "os_family": "Suse", "osmajorrelease": 15}},
		{"sles", `NAME="SLES"
ID="sles"
VERSION_ID="15.4"`, map[string]any{"os": "SUSE", "os_family": "Suse"}},
		{"arch", `NAME="Arch Linux"
ID=arch
BUILD_ID=rolling`, map[string]any{"os": "Arch", "os_family": "Arch", "osrelease": "rolling", "osfinger": "Arch-rolling"}},
		{"alpine", `NAME="Alpine Linux"
ID=alpine
VERSION_ID=3.19.1`, map[string]any{"os": "Alpine", "os_family": "Alpine", "osrelease": "3.19.1", "osrelease_info": []any{3, 19, 1}}},
		{"unknown derivative via ID_LIKE", `NAME="Frobix"
ID=frobix
ID_LIKE="ubuntu debian"
VERSION_ID=1`, map[string]any{"os": "Frobix", "os_family": "Debian"}},
		{"quoted escapes and comments", `# comment
NAME='Odd "Linux"'
ID=odd
VERSION="1 (\"x\")"`, map[string]any{"osfullname": `Odd "Linux"`, "oscodename": `"x"`}},
		{"empty", ``, map[string]any{"os": "Linux", "os_family": "Linux", "osrelease": ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := OSGrains(ParseOSRelease(tc.release))
			for k, v := range tc.want {
				if js(got[k]) != js(v) {
					t.Errorf("%s = %s, want %s (all: %s)", k, js(got[k]), js(v), js(got))
				}
			}
		})
	}
}

func TestOSArch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ family, machine, want string }{
		{"Debian", "x86_64", "amd64"}, {"Debian", "aarch64", "arm64"}, {"RedHat", "x86_64", "x86_64"}, {"Debian", "s390x", "s390x"},
	} {
		if got := OSArch(tc.family, tc.machine); got != tc.want {
			t.Errorf("OSArch(%s, %s) = %s, want %s", tc.family, tc.machine, got, tc.want)
		}
	}
}

func TestParseCPUInfo(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, text, model string
		flags             []string
	}{
		{"x86", "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\nflags\t\t: fpu vme hypervisor\n\nprocessor\t: 1\nmodel name\t: other\nflags\t: x\n",
			"Intel(R) Xeon(R) CPU @ 2.20GHz", []string{"fpu", "vme", "hypervisor"}},
		{"arm", "processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd evtstrm\nCPU implementer\t: 0x41\n\nHardware\t: BCM2835\n",
			"BCM2835", []string{"fp", "asimd", "evtstrm"}},
		{"empty", "", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, f := ParseCPUInfo(tc.text)
			if m != tc.model || js(f) != js(tc.flags) {
				t.Errorf("ParseCPUInfo = %q %q, want %q %q", m, f, tc.model, tc.flags)
			}
		})
	}
}

func TestParseMeminfo(t *testing.T) {
	t.Parallel()
	mem, swap, ok := ParseMeminfo("MemTotal:       16314472 kB\nMemFree:         1234 kB\nSwapTotal:       2097148 kB\n")
	if !ok || mem != 15932 || swap != 2047 {
		t.Errorf("ParseMeminfo = %d %d %v", mem, swap, ok)
	}
	if _, _, ok := ParseMeminfo("garbage"); ok {
		t.Error("ParseMeminfo(garbage) ok")
	}
}

func TestDetectVirtual(t *testing.T) {
	t.Parallel()
	f := func(kv ...string) fstest.MapFS {
		m := fstest.MapFS{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = &fstest.MapFile{Data: []byte(kv[i+1])}
		}
		return m
	}
	dmi := "sys/class/dmi/id/"
	cases := []struct {
		name       string
		fs         fstest.MapFS
		flags      []string
		virt, subt string
	}{
		{"bare metal", f(dmi+"sys_vendor", "Dell Inc.\n", dmi+"product_name", "PowerEdge R640"), []string{"fpu"}, "physical", ""},
		{"docker", f(".dockerenv", "", dmi+"product_name", "KVM"), nil, "container", "Docker"},
		{"podman", f("run/.containerenv", ""), nil, "container", "Podman"},
		{"systemd container file", f("run/systemd/container", "lxc\n"), nil, "container", "LXC"},
		{"environ", f("proc/1/environ", "PATH=/bin\x00container=podman\x00"), nil, "container", "Podman"},
		{"cgroup docker", f("proc/1/cgroup", "12:pids:/docker/0123abc\n"), nil, "container", "Docker"},
		{"cgroup kubepods", f("proc/1/cgroup", "0::/kubepods/besteffort/pod1/abc\n"), nil, "container", "Kubernetes"},
		{"cgroup v2 root", f("proc/1/cgroup", "0::/\n"), nil, "physical", ""},
		{"kvm", f(dmi+"sys_vendor", "QEMU", dmi+"product_name", "Standard PC (Q35 + ICH9, 2009)"), []string{"hypervisor"}, "kvm", ""},
		{"vmware", f(dmi+"sys_vendor", "VMware, Inc.", dmi+"product_name", "VMware7,1"), nil, "VMware", ""},
		{"virtualbox", f(dmi+"product_name", "VirtualBox", dmi+"sys_vendor", "innotek GmbH"), nil, "VirtualBox", ""},
		{"xen hvm", f(dmi+"product_name", "HVM domU", dmi+"sys_vendor", "Xen"), nil, "xen", "Xen HVM DomU"},
		{"xen pv", f("sys/hypervisor/type", "xen\n"), nil, "xen", "Xen PV DomU"},
		{"xen dom0", f("sys/hypervisor/type", "xen\n", "proc/xen/capabilities", "control_d\n"), nil, "xen", "Xen Dom0"},
		{"hyper-v", f(dmi+"sys_vendor", "Microsoft Corporation", dmi+"product_name", "Virtual Machine"), nil, "VirtualPC", "Hyper-V"},
		{"gce", f(dmi+"product_name", "Google Compute Engine", dmi+"sys_vendor", "Google"), nil, "gce", ""},
		{"unnamed hypervisor", f(), []string{"fpu", "hypervisor"}, "VirtualMachine", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, s := DetectVirtual(tc.fs, tc.flags)
			if v != tc.virt || s != tc.subt {
				t.Errorf("DetectVirtual = %q/%q, want %q/%q", v, s, tc.virt, tc.subt)
			}
		})
	}
}

func TestNetworkGrains(t *testing.T) {
	t.Parallel()
	g := NetworkGrains([]Iface{
		{Name: "lo", Addrs: []string{"127.0.0.1/8", "::1/128"}},
		{Name: "eth0", HWAddr: "52:54:00:12:34:56", Addrs: []string{"10.0.0.5/24", "fe80::1%eth0/64", "10.0.0.4/24"}},
		{Name: "down", HWAddr: "52:54:00:00:00:01"},
		{Name: "junk", Addrs: []string{"not-an-ip"}},
	})
	want := map[string]string{
		"ipv4":              `["10.0.0.4","10.0.0.5","127.0.0.1"]`,
		"ipv6":              `["::1","fe80::1"]`,
		"ip_interfaces":     `{"down":[],"eth0":["10.0.0.5","fe80::1","10.0.0.4"],"junk":[],"lo":["127.0.0.1","::1"]}`,
		"ip4_interfaces":    `{"down":[],"eth0":["10.0.0.5","10.0.0.4"],"junk":[],"lo":["127.0.0.1"]}`,
		"ip6_interfaces":    `{"down":[],"eth0":["fe80::1"],"junk":[],"lo":["::1"]}`,
		"hwaddr_interfaces": `{"down":"52:54:00:00:00:01","eth0":"52:54:00:12:34:56","junk":"00:00:00:00:00:00","lo":"00:00:00:00:00:00"}`,
	}
	for k, w := range want {
		if js(g[k]) != w {
			t.Errorf("%s = %s, want %s", k, js(g[k]), w)
		}
	}
}

func TestParseResolvConf(t *testing.T) {
	t.Parallel()
	g := ParseResolvConf("# generated\nnameserver 10.0.0.2\nnameserver 2001:db8::53\nnameserver bogus\nsearch a.example b.example\ndomain example\noptions ndots:2 rotate\n")
	want := `{"domain":"example","ip4_nameservers":["10.0.0.2"],"ip6_nameservers":["2001:db8::53"],"nameservers":["10.0.0.2","2001:db8::53"],"options":["ndots:2","rotate"],"search":["a.example","b.example"]}`
	if js(g) != want {
		t.Errorf("ParseResolvConf = %s\nwant %s", js(g), want)
	}
}

func TestLocaleInfo(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in       []string
		lang     string
		enc, det string
	}{
		{[]string{"", "", "en_US.UTF-8"}, "en_US", "UTF-8", "utf-8"},
		{[]string{"de_DE.ISO-8859-1@euro", "", "en_US.UTF-8"}, "de_DE", "ISO-8859-1", "ascii"},
		{[]string{"C.UTF-8"}, "unknown", "UTF-8", "utf-8"},
		{[]string{"", "", ""}, "unknown", "unknown", "ascii"},
	}
	for _, tc := range cases {
		g := LocaleInfo(tc.in...)
		if g["defaultlanguage"] != tc.lang || g["defaultencoding"] != tc.enc || g["detectedencoding"] != tc.det || g["timezone"] == "" {
			t.Errorf("LocaleInfo(%q) = %s", tc.in, js(g))
		}
	}
}

// TestCollectFixture runs Collect over a fake root, so every grain derived
// from files has a known value.
func TestCollectFixture(t *testing.T) {
	t.Parallel()
	root := fstest.MapFS{
		"etc/os-release":                          {Data: []byte("NAME=\"Rocky Linux\"\nID=rocky\nVERSION_ID=9.3\n")},
		"etc/machine-id":                          {Data: []byte("0123456789abcdef0123456789abcdef\n")},
		"etc/resolv.conf":                         {Data: []byte("nameserver 10.1.1.1\n")},
		"proc/cpuinfo":                            {Data: []byte("model name\t: Test CPU\nflags\t: fpu hypervisor\n")},
		"proc/meminfo":                            {Data: []byte("MemTotal: 2048000 kB\nSwapTotal: 1024 kB\n")},
		"sys/class/dmi/id/sys_vendor":             {Data: []byte("QEMU\n")},
		"sys/class/dmi/id/product_name":           {Data: []byte("KVM\n")},
		"sys/class/dmi/id/product_uuid":           {Data: []byte("ABCD-EF\n")},
		"sys/bus/pci/devices/0000:00:02.0/class":  {Data: []byte("0x030000\n")},
		"sys/bus/pci/devices/0000:00:02.0/vendor": {Data: []byte("0x1234\n")},
		"sys/bus/pci/devices/0000:00:02.0/device": {Data: []byte("0x1111\n")},
		"sys/bus/pci/devices/0000:00:03.0/class":  {Data: []byte("0x020000\n")},
		"run/systemd/system":                      {Mode: 0o755 | os.ModeDir},
	}
	c := &Collector{
		FS:       root,
		Ifaces:   func() ([]Iface, error) { return []Iface{{Name: "eth0", Addrs: []string{"10.9.9.9/24"}}}, nil },
		Hostname: func() (string, error) { return "web1.dc1.example.com", nil },
	}
	g, err := c.Collect(context.Background(), "web1", map[string]any{"roles": []any{"web"}, "os": "Overridden"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"id": "web1", "os": "Overridden", "os_family": "RedHat", "osrelease": "9.3", "osmajorrelease": 9,
		"cpu_model": "Test CPU", "mem_total": 2000, "swap_total": 1, "virtual": "kvm", "machine_id": "0123456789abcdef0123456789abcdef",
		"host": "web1", "fqdn": "web1.dc1.example.com", "domain": "dc1.example.com", "ipv4": []any{"10.9.9.9"},
		"roles": []any{"web"}, "init": "systemd", "uuid": "abcd-ef", "productname": "KVM", "manufacturer": "QEMU",
		"num_gpus": 1, "gpus": []any{map[string]any{"vendor": "qemu", "model": "device 0x1111", "pci": "0000:00:02.0"}},
		"dns": map[string]any{"nameservers": []any{"10.1.1.1"}, "ip4_nameservers": []any{"10.1.1.1"}, "ip6_nameservers": []any{}, "search": []any{}, "domain": "", "options": []any{}},
	}
	for k, v := range want {
		if js(g[k]) != js(v) {
			t.Errorf("%s = %s, want %s", k, js(g[k]), js(v))
		}
	}
	if _, ok := g["virtual_subtype"]; ok {
		t.Errorf("virtual_subtype set for plain kvm: %v", g["virtual_subtype"])
	}
}

func TestCollectFQDNLookup(t *testing.T) {
	t.Parallel()
	// A resolver whose server always fails: the fqdn falls back to the name.
	r := &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("no dns in this test")
	}}
	c := &Collector{FS: fstest.MapFS{}, Resolver: r, Ifaces: func() ([]Iface, error) { return nil, errors.New("none") },
		Hostname: func() (string, error) { return "no-such-host-brine-test", nil }}
	g, err := c.Collect(context.Background(), "x", nil)
	if err != nil {
		t.Fatal(err)
	}
	if g["fqdn"] != "no-such-host-brine-test" || g["domain"] != "" || g["host"] != "no-such-host-brine-test" {
		t.Errorf("fqdn %v domain %v host %v", g["fqdn"], g["domain"], g["host"])
	}
	if g["os"] != "Linux" || g["virtual"] != "physical" {
		t.Errorf("empty root: os %v virtual %v", g["os"], g["virtual"])
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Collect(ctx, "x", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Collect with a cancelled context: %v", err)
	}
}

// TestCollectThisMachine cross-checks the real collection with the OS.
func TestCollectThisMachine(t *testing.T) {
	t.Parallel()
	g, err := Collect(context.Background(), "me", map[string]any{"static": "yes"})
	if err != nil {
		t.Fatal(err)
	}
	if g["num_cpus"] != runtime.NumCPU() {
		t.Errorf("num_cpus %v, want %d", g["num_cpus"], runtime.NumCPU())
	}
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		t.Fatal(err)
	}
	if g["kernelrelease"] != utsString(u.Release) || g["kernel"] != "Linux" || g["cpuarch"] != utsString(u.Machine) {
		t.Errorf("kernel grains %v %v %v", g["kernel"], g["kernelrelease"], g["cpuarch"])
	}
	var si syscall.Sysinfo_t
	if err := syscall.Sysinfo(&si); err != nil {
		t.Fatal(err)
	}
	memMiB := int(uint64(si.Totalram) * uint64(si.Unit) >> 20)
	if m, _ := g["mem_total"].(int); m < memMiB-2 || m > memMiB+2 {
		t.Errorf("mem_total %v, sysinfo says %d MiB", g["mem_total"], memMiB)
	}
	host, _ := os.Hostname()
	if g["localhost"] != host || !strings.HasPrefix(host, g["host"].(string)) {
		t.Errorf("host %v localhost %v, hostname %s", g["host"], g["localhost"], host)
	}
	if rel, err := os.ReadFile("/etc/os-release"); err == nil {
		osr := ParseOSRelease(string(rel))
		if osr["ID"] == "debian" && (g["os"] != "Debian" || g["os_family"] != "Debian") {
			t.Errorf("os %v/%v on Debian", g["os"], g["os_family"])
		}
	}
	ipv4, _ := g["ipv4"].([]any)
	if !containsAny(ipv4, "127.0.0.1") {
		t.Errorf("ipv4 %v lacks 127.0.0.1", ipv4)
	}
	ifs, _ := net.Interfaces()
	ipIf, _ := g["ip_interfaces"].(map[string]any)
	names := []string{}
	for _, i := range ifs {
		names = append(names, i.Name)
		if _, ok := ipIf[i.Name]; !ok {
			t.Errorf("ip_interfaces lacks %s", i.Name)
		}
	}
	sort.Strings(names)
	if len(ipIf) != len(names) {
		t.Errorf("ip_interfaces %v, interfaces %v", ipIf, names)
	}
	if _, err := os.Stat("/.dockerenv"); err == nil && (g["virtual"] != "container" || g["virtual_subtype"] != "Docker") {
		t.Errorf("virtual %v/%v in docker", g["virtual"], g["virtual_subtype"])
	}
	for _, k := range []string{"id", "fqdn", "host", "domain", "nodename", "os", "os_family", "osrelease", "oscodename",
		"osfullname", "kernelversion", "cpu_model", "swap_total", "ipv6", "ip4_interfaces", "hwaddr_interfaces",
		"path", "shell", "locale_info", "brineversion", "virtual"} {
		if _, ok := g[k]; !ok {
			t.Errorf("grain %s missing", k)
		}
	}
	if g["static"] != "yes" || g["id"] != "me" || g["brineversion"] != Version {
		t.Errorf("static %v id %v version %v", g["static"], g["id"], g["brineversion"])
	}
	if _, err := json.Marshal(g); err != nil {
		t.Errorf("grains are not JSON: %v", err)
	}
}

func containsAny(l []any, s string) bool {
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}

func BenchmarkCollect(b *testing.B) {
	for b.Loop() {
		if _, err := Collect(context.Background(), "bench", nil); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzOSRelease(f *testing.F) {
	f.Add("NAME=\"Debian GNU/Linux\"\nID=debian\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\n")
	f.Add("ID=x\nVERSION_ID=1.a.2\n")
	f.Fuzz(func(t *testing.T, s string) {
		g := OSGrains(ParseOSRelease(s))
		if g["os"] == "" || g["os_family"] == "" {
			t.Fatalf("empty os/os_family for %q: %v", s, g)
		}
	})
}
