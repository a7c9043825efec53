package citest_test

import (
	"fmt"
	"slices"
	"strings"
)

// elided is how documentation leaves out the rest of a command ("release --source=. ...").
const elided = "..."

// callFlagsWithValue are `dagger call`'s own flags that take a value (the rest of its flags
// are booleans); -m/--mod, which picks the module, is read before the check.
var callFlagsWithValue = map[string]bool{"-o": true, "--output": true, "-m": true, "--mod": true, "--progress": true}

// callFlagsBool are `dagger call`'s own boolean flags, which are not the function's.
var callFlagsBool = map[string]bool{"--json": true, "-j": true, "-q": true, "-s": true, "-v": true, "-vv": true, "-vvv": true,
	"--silent": true, "--quiet": true, "--debug": true, "-d": true, "--help": true, "-h": true}

// checkOpts tunes checkCall for where the command was found.
type checkOpts struct {
	// abbreviated: the command is a mention in prose, not one to run; required arguments
	// are not checked.
	abbreviated bool
}

// callChecker walks one `dagger call` argument list through a module's API.
type callChecker struct {
	api   *callAPI
	opts  checkOpts
	args  []string
	i     int
	cur   *callFunc       // the function whose flags are being read
	given map[string]bool // flags given to cur
	skip  bool            // cur's required flags are not checked (an elision)
	errs  []string
}

// checkCall checks the arguments after `call` (global dagger flags already removed):
// constructor flags, then functions, each with its flags, chained by return type.
func checkCall(api *callAPI, args []string, opts checkOpts) []string {
	c := &callChecker{api: api, opts: opts, args: args}
	c.enter(api.types[""].funcs[""])
	ret := retType{kind: retObject, name: api.main}
	first := true
	for c.i < len(c.args) {
		tok := c.args[c.i]
		c.i++
		switch {
		case tok == elided:
			c.skip = true
		case strings.HasPrefix(tok, "-"):
			c.flag(tok)
		default:
			c.leave()
			next, ok := c.lookup(ret, tok)
			if !ok {
				return c.errs
			}
			c.enter(next)
			ret, first = next.ret, false
		}
	}
	c.leave()
	if first && !c.skip && !c.opts.abbreviated {
		c.errorf("no function called")
	}
	return c.errs
}

func (c *callChecker) errorf(format string, a ...any) {
	c.errs = append(c.errs, fmt.Sprintf(format, a...))
}

func (c *callChecker) enter(f *callFunc) {
	c.cur, c.given, c.skip = f, map[string]bool{}, false
}

// leave checks that the function just read got its required flags.
func (c *callChecker) leave() {
	if c.cur == nil || c.skip || c.opts.abbreviated {
		return
	}
	for _, a := range c.cur.args {
		if a.required && !c.given[a.flag] {
			c.errorf("%s: required --%s is missing", c.what(), a.flag)
		}
	}
}

func (c *callChecker) what() string {
	if c.cur.name == "" {
		return "the module's constructor (flags before the first function)"
	}
	return c.cur.name
}

// flag reads one flag of the current function (or of dagger call itself).
func (c *callChecker) flag(tok string) {
	name, _, hasValue := strings.Cut(tok, "=")
	if callFlagsBool[name] || callFlagsWithValue[name] {
		if callFlagsWithValue[name] && !hasValue {
			c.i++
		}
		return
	}
	if c.cur == nil {
		return // a core type the checker does not follow
	}
	i := slices.IndexFunc(c.cur.args, func(a callArg) bool { return "--"+a.flag == name })
	if i < 0 {
		c.errorf("%s has no flag %s (it has: %s)", c.what(), name, flagList(c.cur))
		return
	}
	a := c.cur.args[i]
	c.given[a.flag] = true
	switch {
	case hasValue:
	case a.boolean:
		if c.i < len(c.args) && (c.args[c.i] == "true" || c.args[c.i] == "false") {
			c.i++
		}
	case c.i < len(c.args) && c.args[c.i] != elided:
		c.i++ // --flag value
	default:
		c.errorf("%s: %s needs a value", c.what(), name)
	}
}

// lookup finds the function name on what the previous function returned; ok is false when
// the checker cannot or need not go further.
func (c *callChecker) lookup(ret retType, name string) (*callFunc, bool) {
	var funcs map[string]*callFunc
	switch ret.kind {
	case retObject:
		funcs = c.api.types[ret.name].funcs
	case retCore:
		if funcs = coreFuncs[ret.name]; funcs == nil {
			return nil, false // a core type not modelled: stop here
		}
	case retOther:
		return nil, false
	default:
		c.errorf("%s returns %s: nothing can follow it, got %q", c.what(), orNothing(ret.name), name)
		return nil, false
	}
	f := funcs[name]
	if f == nil {
		c.errorf("%s has no function %q (it has: %s)", typeLabel(ret), name, funcList(funcs))
		return nil, false
	}
	return f, true
}

func orNothing(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}

func typeLabel(r retType) string {
	if r.kind == retCore {
		return "dagger " + r.name
	}
	return r.name
}

func flagList(f *callFunc) string {
	var names []string
	for _, a := range f.args {
		names = append(names, "--"+a.flag)
	}
	if len(names) == 0 {
		return "no flags"
	}
	return strings.Join(names, " ")
}

func funcList(funcs map[string]*callFunc) string {
	var names []string
	for n := range funcs {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, " ")
}
