package grains

import (
	"bufio"
	"io/fs"
	"strconv"
	"strings"
)

// ParseCPUInfo reads the CPU model and flags of /proc/cpuinfo (x86 "model
// name"/"flags", ARM "Hardware"/"Processor"/"Features").
func ParseCPUInfo(text string) (model string, flags []string) {
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 1<<20) // flags lines are long
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "model name", "Processor", "cpu model", "cpu":
			if model == "" {
				model = v
			}
		case "Hardware":
			if model == "" {
				model = v
			}
		case "flags", "Features":
			if flags == nil {
				flags = strings.Fields(v)
			}
		}
	}
	return model, flags
}

// ParseMeminfo returns MemTotal and SwapTotal of /proc/meminfo in MiB, as
// Salt's mem_total and swap_total grains.
func ParseMeminfo(text string) (memMiB, swapMiB int, ok bool) {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			continue
		}
		// Values are in kB (KiB).
		switch f[0] {
		case "MemTotal:":
			memMiB, ok = n/1024, true
		case "SwapTotal:":
			swapMiB = n / 1024
		}
	}
	return memMiB, swapMiB, ok
}

// readFile returns a trimmed file of fsys, "" when unreadable.
func readFile(fsys fs.FS, name string) string {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func exists(fsys fs.FS, name string) bool {
	_, err := fs.Stat(fsys, name)
	return err == nil
}

// DetectVirtual works out Salt's virtual and virtual_subtype grains from
// the files under fsys (the root filesystem): container markers first
// (/.dockerenv, /run/.containerenv, container= in /proc/1/environ or
// /run/systemd/container, /proc/1/cgroup), then the hypervisor from DMI
// (/sys/class/dmi/id), /sys/hypervisor and the cpuinfo hypervisor flag,
// as systemd-detect-virt does. "physical" when nothing says otherwise.
func DetectVirtual(fsys fs.FS, cpuFlags []string) (virtual, subtype string) {
	if sub := containerKind(fsys); sub != "" {
		return "container", sub
	}
	vendor := readFile(fsys, "sys/class/dmi/id/sys_vendor")
	product := readFile(fsys, "sys/class/dmi/id/product_name")
	bios := readFile(fsys, "sys/class/dmi/id/bios_vendor")
	board := readFile(fsys, "sys/class/dmi/id/board_vendor")
	dmi := strings.ToLower(strings.Join([]string{vendor, product, bios, board}, "\n"))
	switch {
	case strings.Contains(dmi, "virtualbox") || strings.Contains(dmi, "innotek"):
		return "VirtualBox", ""
	case strings.Contains(dmi, "vmware"):
		return "VMware", ""
	case strings.Contains(dmi, "parallels"):
		return "Parallels", ""
	case strings.Contains(dmi, "bhyve"):
		return "bhyve", ""
	case strings.Contains(dmi, "google"):
		return "gce", ""
	case strings.Contains(dmi, "amazon ec2"):
		return "Nitro", "Amazon EC2"
	case strings.Contains(dmi, "microsoft corporation") && strings.Contains(dmi, "virtual machine"):
		return "VirtualPC", "Hyper-V"
	case strings.Contains(dmi, "openstack"):
		return "kvm", "OpenStack"
	case strings.Contains(dmi, "kvm") || strings.Contains(dmi, "qemu") || strings.Contains(dmi, "seabios") ||
		strings.Contains(dmi, "red hat") || strings.Contains(dmi, "standard pc (") || strings.Contains(dmi, "ovirt"):
		return "kvm", ""
	case strings.Contains(dmi, "xen"):
		return "xen", "Xen HVM DomU"
	}
	if t := readFile(fsys, "sys/hypervisor/type"); t == "xen" {
		if strings.Contains(readFile(fsys, "proc/xen/capabilities"), "control_d") {
			return "xen", "Xen Dom0"
		}
		return "xen", "Xen PV DomU"
	}
	for _, f := range cpuFlags {
		if f == "hypervisor" {
			// A hypervisor we could not name (no DMI in this guest).
			return "VirtualMachine", ""
		}
	}
	return "physical", ""
}

// containerKind names the container runtime, "" outside a container.
func containerKind(fsys fs.FS) string {
	if exists(fsys, ".dockerenv") {
		return "Docker"
	}
	if exists(fsys, "run/.containerenv") {
		return "Podman"
	}
	env := readFile(fsys, "run/systemd/container")
	if env == "" {
		for _, kv := range strings.Split(readFile(fsys, "proc/1/environ"), "\x00") {
			if v, ok := strings.CutPrefix(kv, "container="); ok {
				env = v
			}
		}
	}
	switch strings.ToLower(env) {
	case "":
	case "docker":
		return "Docker"
	case "podman":
		return "Podman"
	case "lxc", "lxc-libvirt":
		return "LXC"
	case "systemd-nspawn":
		return "systemd-nspawn"
	case "wsl":
		return "WSL"
	default:
		return env
	}
	cg := readFile(fsys, "proc/1/cgroup")
	switch {
	case strings.Contains(cg, "/docker"):
		return "Docker"
	case strings.Contains(cg, "/kubepods"):
		return "Kubernetes"
	case strings.Contains(cg, "/lxc"):
		return "LXC"
	case strings.Contains(cg, "libpod"):
		return "Podman"
	}
	return ""
}
