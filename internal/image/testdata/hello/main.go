// Command hello is the binary internal/image's tests pack into images and run back.
package main

import (
	"fmt"
	"os"
	"runtime"
)

func main() {
	fmt.Printf("hello from %s/%s as uid %d\n", runtime.GOOS, runtime.GOARCH, os.Getuid())
}
