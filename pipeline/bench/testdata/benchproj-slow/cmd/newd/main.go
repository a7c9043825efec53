// Command newd is added by the slow commit: it is not in the baseline.
package main

import "fmt"

func main() { fmt.Println("newd: ready") }
