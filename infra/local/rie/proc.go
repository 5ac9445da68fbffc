package rie

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// childPIDs returns the ids of the processes whose parent is pid, read
// from /proc; none where /proc is missing.
func childPIDs(pid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var kids []int
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		if ppid, ok := parentOf(string(b)); ok && ppid == pid {
			if child, err := strconv.Atoi(filepath.Base(filepath.Dir(path))); err == nil {
				kids = append(kids, child)
			}
		}
	}
	return kids
}

// parentOf reads the parent pid from a /proc/PID/stat line: the fourth
// field, counted after the command name in parentheses (which may itself
// hold spaces and parentheses).
func parentOf(stat string) (int, bool) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}
