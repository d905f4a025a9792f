package image

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
)

var elfMachine = map[string]elf.Machine{
	"amd64":   elf.EM_X86_64,
	"arm64":   elf.EM_AARCH64,
	"arm":     elf.EM_ARM,
	"386":     elf.EM_386,
	"ppc64le": elf.EM_PPC64,
	"s390x":   elf.EM_S390,
	"riscv64": elf.EM_RISCV,
}

// ErrNotStatic is wrapped by Build's error for a binary that needs a dynamic loader or
// is not for the image's platform: an image of this package has no libc to run it.
var ErrNotStatic = errors.New("not a static binary for the platform")

// checkStatic checks that bin is a Linux ELF executable for p without an interpreter.
func checkStatic(bin []byte, p Platform) error {
	if p.OS != "linux" {
		return fmt.Errorf("%w: images are for linux, not %s", ErrOptions, p.OS)
	}
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		return fmt.Errorf("%w: not an ELF executable: %v", ErrNotStatic, err)
	}
	defer f.Close()
	if want, ok := elfMachine[p.Arch]; !ok || f.Machine != want {
		return fmt.Errorf("%w: built for %s, want %s", ErrNotStatic, f.Machine, p)
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return fmt.Errorf("%w: dynamically linked (has an interpreter; build with CGO_ENABLED=0)", ErrNotStatic)
		}
	}
	return nil
}
