package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// findProcess returns the pid of the one live process running the
// executable at exe, found through /proc/PID/exe.
func findProcess(exe string) (int, error) {
	exe, err := filepath.Abs(exe)
	if err != nil {
		return 0, fmt.Errorf("finding the process of %s: %w", exe, err)
	}
	links, _ := filepath.Glob("/proc/[0-9]*/exe")
	var pids []int
	for _, link := range links {
		if target, err := os.Readlink(link); err != nil || target != exe {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(link))); err == nil {
			pids = append(pids, pid)
		}
	}
	if len(pids) != 1 {
		return 0, fmt.Errorf("finding the process of %s: %d processes run it (%v), want 1", exe, len(pids), pids)
	}
	return pids[0], nil
}

// peakRSS returns the peak resident set size of process pid, in bytes: its
// VmHWM in /proc/PID/status.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("reading the peak RSS of process %d: %w", pid, err)
	}
	n, err := parseVmHWM(string(b))
	if err != nil {
		return 0, fmt.Errorf("reading the peak RSS of process %d: %w", pid, err)
	}
	return n, nil
}

// parseVmHWM reads the VmHWM line ("VmHWM:	   12345 kB") of a
// /proc/PID/status file and returns it in bytes.
func parseVmHWM(status string) (int64, error) {
	for line := range strings.Lines(status) {
		rest, ok := strings.CutPrefix(line, "VmHWM:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("unexpected VmHWM line %q", strings.TrimSpace(line))
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb < 0 {
			return 0, fmt.Errorf("unexpected VmHWM line %q", strings.TrimSpace(line))
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("no VmHWM line")
}
