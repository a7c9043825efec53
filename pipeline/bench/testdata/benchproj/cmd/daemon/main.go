// Command daemon pretends to be a server: it starts up, says "ready", and serves until
// killed. With -exit it exits after start-up instead.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	startup := flag.Duration("startup", 20*time.Millisecond, "time to spend starting up")
	exit := flag.Bool("exit", false, "exit after start-up instead of serving")
	never := flag.Bool("never-ready", false, "never say ready")
	fail := flag.Bool("fail", false, "exit 3 after start-up")
	flag.Parse()
	time.Sleep(*startup)
	if *fail {
		fmt.Fprintln(os.Stderr, "daemon: cannot bind")
		os.Exit(3)
	}
	if *exit {
		return
	}
	if !*never {
		fmt.Println("daemon: ready to serve")
	}
	for {
		time.Sleep(time.Hour) // serve (an empty select would be reported as a deadlock)
	}
}
