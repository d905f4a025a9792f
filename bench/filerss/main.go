// Command filerss says which parts of a running Go binary are resident: the file-backed
// RSS of the process that is its own executable, by ELF section and, for the code, by
// module (the first three elements of a package path). It reads /proc/PID/maps and
// /proc/PID/pagemap (Linux; run as the process's user or root).
//
//	go run ./bench/filerss -pid PID [-symbols UNSTRIPPED] [-top 25]
//
// A released binary has no symbol table (-s -w); pass the same code built without -s as
// -symbols (the layout of the code is the same) to get the breakdown by module.
package main

import (
	"bufio"
	"debug/elf"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

const page = 4096

func main() {
	pid := flag.Int("pid", 0, "the process to look at")
	symbols := flag.String("symbols", "", "an unstripped build of the same binary, for the code by module (default: the executable)")
	top := flag.Int("top", 25, "modules to list")
	flag.Parse()
	if err := run(os.Stdout, *pid, *symbols, *top); err != nil {
		fmt.Fprintln(os.Stderr, "filerss:", err)
		os.Exit(1)
	}
}

type mapping struct{ start, end uint64 }

func run(w io.Writer, pid int, symbols string, top int) error {
	if pid <= 0 {
		return fmt.Errorf("-pid is required")
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return fmt.Errorf("reading the executable of %d: %w", pid, err)
	}
	maps, err := binaryMappings(pid, exe)
	if err != nil {
		return err
	}
	if symbols == "" {
		symbols = fmt.Sprintf("/proc/%d/exe", pid)
	}
	f, err := elf.Open(symbols)
	if err != nil {
		return fmt.Errorf("opening %s: %w", symbols, err)
	}
	defer f.Close()
	syms, _ := f.Symbols() // none in a stripped binary: sections only
	sort.Slice(syms, func(i, j int) bool { return syms[i].Value < syms[j].Value })

	pm, err := os.Open(fmt.Sprintf("/proc/%d/pagemap", pid))
	if err != nil {
		return fmt.Errorf("opening the pagemap of %d: %w", pid, err)
	}
	defer pm.Close()
	bySection, byModule := map[string]int{}, map[string]int{}
	textSize := map[string]uint64{} // each module's code, resident or not
	if text := f.Section(".text"); text != nil {
		for _, s := range syms {
			if s.Value >= text.Addr && s.Value < text.Addr+text.Size {
				textSize[module(s.Name)] += s.Size
			}
		}
	}
	total := 0
	for _, m := range maps {
		n := (m.end - m.start) / page
		buf := make([]byte, n*8)
		if _, err := pm.ReadAt(buf, int64(m.start/page*8)); err != nil {
			return fmt.Errorf("reading the pagemap of %d at %#x: %w", pid, m.start, err)
		}
		for i := range n {
			e := binary.LittleEndian.Uint64(buf[i*8:])
			if e>>63&1 == 0 || e>>61&1 == 0 { // not present, or anonymous (a copied-on-write page)
				continue
			}
			total++
			va := m.start + i*page
			sec := sectionAt(f, va)
			bySection[sec]++
			if sec == ".text" && len(syms) > 0 {
				j := sort.Search(len(syms), func(k int) bool { return syms[k].Value > va }) - 1
				if j >= 0 {
					byModule[module(syms[j].Name)]++
				}
			}
		}
	}
	fmt.Fprintf(w, "%s: %.1f MB of the binary resident (file-backed)\n", filepath.Base(exe), mb(total))
	list(w, "by section", bySection, 0, nil)
	if len(byModule) > 0 {
		list(w, "code by module, resident of all", byModule, top, textSize)
	}
	return nil
}

// binaryMappings returns the mappings of exe in the process, from /proc/PID/maps.
func binaryMappings(pid int, exe string) ([]mapping, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return nil, fmt.Errorf("reading the mappings of %d: %w", pid, err)
	}
	defer f.Close()
	var out []mapping
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[5] != exe {
			continue
		}
		lo, hi, _ := strings.Cut(fields[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("parsing the mapping %q of %d", fields[0], pid)
		}
		out = append(out, mapping{start, end})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the mappings of %d: %w", pid, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no mapping of %s in %d", exe, pid)
	}
	return out, nil
}

func sectionAt(f *elf.File, va uint64) string {
	for _, s := range f.Sections {
		if s.Flags&elf.SHF_ALLOC != 0 && va >= s.Addr && va < s.Addr+s.Size {
			return s.Name
		}
	}
	return "(between sections)"
}

// module is the first three elements of the package path a Go symbol is in
// ("k8s.io/client-go/informers" from "k8s.io/client-go/informers/core/v1.(*x).Y").
func module(sym string) string {
	for _, p := range []string{"type:.eq.", "go:itab.*", "go:itab.", "type:*", "type:"} {
		sym = strings.TrimPrefix(sym, p)
	}
	head := sym // the package path ends at the first dot after its last slash, before any type argument
	if j := strings.IndexAny(head, "[("); j >= 0 {
		head = head[:j]
	}
	path := sym
	if j := strings.IndexByte(sym[strings.LastIndexByte(head, '/')+1:], '.'); j >= 0 {
		path = sym[:strings.LastIndexByte(head, '/')+1+j]
	}
	parts := strings.SplitN(path, "/", 4)
	if len(parts) > 3 {
		parts = parts[:3]
	}
	return strings.Join(parts, "/")
}

func list(w io.Writer, title string, pages map[string]int, top int, of map[string]uint64) {
	keys := make([]string, 0, len(pages))
	for k := range pages {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return pages[keys[i]] > pages[keys[j]] })
	if top > 0 && len(keys) > top {
		keys = keys[:top]
	}
	fmt.Fprintf(w, "%s (MB):\n", title)
	for _, k := range keys {
		if all, ok := of[k]; ok && all > 0 {
			fmt.Fprintf(w, "%8.2f of %6.2f  %s\n", mb(pages[k]), float64(all)/1e6, k)
			continue
		}
		fmt.Fprintf(w, "%8.2f  %s\n", mb(pages[k]), k)
	}
}

func mb(pages int) float64 { return float64(pages) * page / 1e6 }
