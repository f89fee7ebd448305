package grains

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/user"
	"path"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Collector gathers grains. The zero value reads the real system; tests
// substitute the filesystem root, interfaces and hostname.
type Collector struct {
	FS       fs.FS                   // the root filesystem; nil means os.DirFS("/")
	Ifaces   func() ([]Iface, error) // nil means SystemIfaces
	Hostname func() (string, error)  // nil means os.Hostname
	Resolver *net.Resolver           // for the fqdn; nil means net.DefaultResolver
	// FQDNTimeout bounds the name lookups for fqdn (default 2s): a broken
	// resolver must not hold up a minion's start.
	FQDNTimeout time.Duration
	Log         *slog.Logger
}

// Collect gathers the grains of this machine for minion id, then applies
// static (configured) grains over them, key by key as Salt does. Facts that
// cannot be read are left out (and logged at debug level by a Collector
// with a logger); the only error is ctx ending.
func Collect(ctx context.Context, id string, static map[string]any) (map[string]any, error) {
	return (&Collector{}).Collect(ctx, id, static)
}

// Collect is the package-level Collect with c's sources.
func (c *Collector) Collect(ctx context.Context, id string, static map[string]any) (map[string]any, error) {
	fsys := c.FS
	if fsys == nil {
		fsys = os.DirFS("/")
	}
	log := c.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := map[string]any{"id": id, "brineversion": Version, "kernel": "Linux", "num_cpus": runtime.NumCPU()}

	c.uname(g)
	c.osGrains(fsys, g, log)
	model, flags := ParseCPUInfo(readFile(fsys, "proc/cpuinfo"))
	if model != "" {
		g["cpu_model"] = model
	}
	g["cpu_flags"] = toAny(flags)
	if mem, swap, ok := ParseMeminfo(readFile(fsys, "proc/meminfo")); ok {
		g["mem_total"], g["swap_total"] = mem, swap
	} else {
		log.Debug("grains: no /proc/meminfo")
	}
	virt, sub := DetectVirtual(fsys, flags)
	g["virtual"] = virt
	if sub != "" {
		g["virtual_subtype"] = sub
	}
	if mid := readFile(fsys, "etc/machine-id"); mid != "" {
		g["machine_id"] = mid
	} else if mid := readFile(fsys, "var/lib/dbus/machine-id"); mid != "" {
		g["machine_id"] = mid
	}
	dmiGrains(fsys, g)
	gpuGrains(fsys, g)
	g["dns"] = ParseResolvConf(readFile(fsys, "etc/resolv.conf"))
	if exists(fsys, "run/systemd/system") {
		g["init"] = "systemd"
	} else if exe, err := os.Readlink("/proc/1/exe"); err == nil && c.FS == nil {
		g["init"] = path.Base(exe)
	}
	processGrains(g)

	ifaces := c.Ifaces
	if ifaces == nil {
		ifaces = SystemIfaces
	}
	if ifs, err := ifaces(); err == nil {
		for k, v := range NetworkGrains(ifs) {
			g[k] = v
		}
	} else {
		log.Warn("grains: network interfaces", slog.Any("err", err))
	}
	if err := c.hostGrains(ctx, g); err != nil {
		return nil, err
	}
	for k, v := range static {
		g[k] = v
	}
	return g, nil
}

func utsString(a [65]int8) string {
	b := make([]byte, 0, len(a))
	for _, c := range a {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	return string(b)
}

func (c *Collector) uname(g map[string]any) {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return
	}
	g["kernel"] = utsString(u.Sysname)
	g["kernelrelease"] = utsString(u.Release)
	g["kernelversion"] = utsString(u.Version)
	g["cpuarch"] = utsString(u.Machine)
	g["nodename"] = utsString(u.Nodename)
}

func (c *Collector) osGrains(fsys fs.FS, g map[string]any, log *slog.Logger) {
	text := readFile(fsys, "etc/os-release")
	if text == "" {
		text = readFile(fsys, "usr/lib/os-release")
	}
	if text == "" {
		log.Debug("grains: no os-release")
	}
	for k, v := range OSGrains(ParseOSRelease(text)) {
		g[k] = v
	}
	if arch, ok := g["cpuarch"].(string); ok {
		g["osarch"] = OSArch(g["os_family"].(string), arch)
	}
}

// hostGrains sets host, localhost, fqdn and domain. Salt's fqdn is Python's
// socket.getfqdn(): the first name containing a dot among those the
// hostname's addresses resolve back to.
func (c *Collector) hostGrains(ctx context.Context, g map[string]any) error {
	hostname := c.Hostname
	if hostname == nil {
		hostname = os.Hostname
	}
	name, err := hostname()
	if err != nil || name == "" {
		name, _ = g["nodename"].(string)
	}
	g["localhost"] = name
	short, _, _ := strings.Cut(name, ".")
	g["host"] = short
	fqdn := name
	if !strings.Contains(name, ".") && name != "" {
		fqdn = c.lookupFQDN(ctx, name)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("grains: %w", err)
	}
	g["fqdn"] = fqdn
	_, domain, _ := strings.Cut(fqdn, ".")
	g["domain"] = domain
	return nil
}

func (c *Collector) lookupFQDN(ctx context.Context, name string) string {
	r := c.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	timeout := c.FQDNTimeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addrs, err := r.LookupHost(ctx, name)
	if err != nil {
		return name
	}
	for _, a := range addrs {
		names, err := r.LookupAddr(ctx, a)
		if err != nil {
			continue
		}
		for _, n := range names {
			n = strings.TrimSuffix(n, ".")
			if strings.Contains(n, ".") && !strings.HasPrefix(n, "localhost") {
				return n
			}
		}
	}
	return name
}

// processGrains describes the minion process: path, shell, locale_info,
// uid/gid/username/groupname, pid.
func processGrains(g map[string]any) {
	g["path"] = os.Getenv("PATH")
	shell := os.Getenv("SHELL")
	if shell == "" {
		shell = "/bin/sh"
	}
	g["shell"] = shell
	g["locale_info"] = LocaleInfo(os.Getenv("LC_ALL"), os.Getenv("LC_CTYPE"), os.Getenv("LANG"))
	g["pid"] = os.Getpid()
	uid, gid := os.Getuid(), os.Getgid()
	g["uid"], g["gid"] = uid, gid
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		g["username"] = u.Username
	}
	if gr, err := user.LookupGroupId(strconv.Itoa(gid)); err == nil {
		g["groupname"] = gr.Name
	}
}

// LocaleInfo builds Salt's locale_info grain from the first set of LC_ALL,
// LC_CTYPE and LANG ("en_US.UTF-8" → language en_US, encoding UTF-8).
func LocaleInfo(vals ...string) map[string]any {
	lang, enc := "unknown", "unknown"
	for _, v := range vals {
		if v == "" {
			continue
		}
		v, _, _ = strings.Cut(v, "@")
		l, e, ok := strings.Cut(v, ".")
		if l != "" && l != "C" && l != "POSIX" {
			lang = l
		}
		if ok && e != "" {
			enc = e
		}
		break
	}
	tz, _ := time.Now().Zone()
	detected := "ascii"
	if strings.EqualFold(strings.ReplaceAll(enc, "-", ""), "utf8") {
		detected = "utf-8"
	}
	return map[string]any{"defaultlanguage": lang, "defaultencoding": enc, "detectedencoding": detected, "timezone": tz}
}

// dmiGrains adds Salt's hardware grains from /sys/class/dmi/id where
// readable (serialnumber and uuid need root).
func dmiGrains(fsys fs.FS, g map[string]any) {
	for grain, file := range map[string]string{
		"biosversion": "bios_version", "biosreleasedate": "bios_date", "manufacturer": "sys_vendor",
		"productname": "product_name", "serialnumber": "product_serial", "uuid": "product_uuid",
	} {
		if v := readFile(fsys, "sys/class/dmi/id/"+file); v != "" {
			g[grain] = v
		}
	}
	if u, ok := g["uuid"].(string); ok {
		g["uuid"] = strings.ToLower(u)
	}
}

var gpuVendors = map[string]string{
	"0x10de": "nvidia", "0x1002": "amd", "0x8086": "intel", "0x1af4": "virtio", "0x1234": "qemu",
	"0x15ad": "vmware", "0x80ee": "virtualbox", "0x102b": "matrox", "0x1a03": "aspeed", "0x1414": "microsoft",
}

// gpuGrains lists display controllers (PCI class 0x03) as gpus/num_gpus.
// Without the PCI name database the model is the PCI device id.
func gpuGrains(fsys fs.FS, g map[string]any) {
	const dir = "sys/bus/pci/devices"
	ents, err := fs.ReadDir(fsys, dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return
	}
	var gpus []map[string]any
	for _, e := range ents {
		p := dir + "/" + e.Name()
		if !strings.HasPrefix(readFile(fsys, p+"/class"), "0x03") {
			continue
		}
		vid := readFile(fsys, p+"/vendor")
		vendor, ok := gpuVendors[vid]
		if !ok {
			vendor = "unknown"
		}
		gpus = append(gpus, map[string]any{"vendor": vendor, "model": "device " + readFile(fsys, p+"/device"), "pci": e.Name()})
	}
	sort.Slice(gpus, func(i, k int) bool { return gpus[i]["pci"].(string) < gpus[k]["pci"].(string) })
	list := make([]any, 0, len(gpus))
	for _, x := range gpus {
		list = append(list, x)
	}
	g["gpus"], g["num_gpus"] = list, len(list)
}
