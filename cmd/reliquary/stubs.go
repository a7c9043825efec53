package main

// Commands whose stages are still being built. Each moves to a file of its own when its
// stage lands; delete its line here then.
var ()
