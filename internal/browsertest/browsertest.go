// Package browsertest drives Debian's Chromium, headless, from Go tests through chromedp: it
// opens pages, fills and submits forms, takes the screenshots of docs/screenshots/ when asked,
// and runs axe-core inside every page it is told to check. axe-core is not copied into the
// repository: its script is read at run time from the npm install that stack/stack.sh makes in
// bin/tools/web-audit (pinned by tools/web-audit/package-lock.json).
//
// Like internal/testenv, a missing browser or axe-core fails the test; it skips only when
// JOBBOARD_ALLOW_SKIP=1 is set and CI is not, so CI never passes by skipping.
package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// DefaultChromiumPath is where Debian's chromium package puts the browser.
const DefaultChromiumPath = "/usr/bin/chromium"

// axeScript is where stack/stack.sh installs axe-core, relative to the repository root.
const axeScript = "bin/tools/web-audit/node_modules/axe-core/axe.min.js"

// ActionTimeout bounds one step (a navigation, a click, an axe run): a page of ours that takes
// longer is a failure, not a slow pass. It is above the whole-system tests' consistency bound
// (60 s, for a loaded 2-core machine), so a page that waits for its own write fails as that
// page's answer, not as a browser timeout.
const ActionTimeout = 90 * time.Second

// Width and Height are the desktop viewport of a Browser; MobileWidth is the narrowest
// viewport the pages must work at (issue 14: 375 px).
const (
	Width       = 1280
	Height      = 800
	MobileWidth = 375
)

// Browser is one headless Chromium with one tab, closed at the end of the test.
type Browser struct {
	t   testing.TB
	ctx context.Context
	axe string

	mu         sync.Mutex
	exceptions []string
}

// skipOrFail fails the test, or skips it when skipping is explicitly allowed outside CI.
func skipOrFail(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") != "true" && os.Getenv("JOBBOARD_ALLOW_SKIP") == "1" {
		t.Skip(msg)
	}
	t.Fatal(msg)
}

// RepoRoot is the directory of go.mod above the working directory (a test runs in its
// package's directory).
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("browsertest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// ChromiumPath is CHROME_PATH when set (the variable Lighthouse reads too), else Debian's path.
func ChromiumPath() string {
	if p := os.Getenv("CHROME_PATH"); p != "" {
		return p
	}
	return DefaultChromiumPath
}

// New starts a headless Chromium for the test with a desktop viewport. Uncaught JavaScript
// exceptions of any page are collected and fail the test at its end.
func New(t testing.TB) *Browser {
	t.Helper()
	path := ChromiumPath()
	if _, err := os.Stat(path); err != nil {
		skipOrFail(t, fmt.Sprintf("Chromium is not installed at %s (%v): `make stack` installs Debian's chromium package", path, err))
	}
	axePath := filepath.Join(RepoRoot(t), axeScript)
	axe, err := os.ReadFile(axePath)
	if err != nil {
		skipOrFail(t, fmt.Sprintf("axe-core is not installed (%v): `make stack` installs it into bin/tools/web-audit", err))
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // the tests run as root in CI, where Chromium's sandbox refuses to start
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(Width, Height),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	b := &Browser{t: t, ctx: ctx, axe: string(axe)}
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first Run starts the browser; it must not carry a timeout (it would end the browser).
	if err := chromedp.Listen(ctx, b.record); err != nil {
		t.Fatalf("browsertest: starting %s: %v", path, err)
	}
	b.Do(chromedp.EmulateViewport(Width, Height))
	t.Cleanup(b.checkExceptions)
	return b
}

// record keeps the uncaught exceptions of the pages (Listen's rules: return fast, no calls).
func (b *Browser) record(ev any) {
	if e, ok := ev.(*runtime.EventExceptionThrown); ok {
		msg := e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil && e.ExceptionDetails.Exception.Description != "" {
			msg = e.ExceptionDetails.Exception.Description
		}
		b.mu.Lock()
		b.exceptions = append(b.exceptions, fmt.Sprintf("%s (%s:%d)", msg, e.ExceptionDetails.URL, e.ExceptionDetails.LineNumber))
		b.mu.Unlock()
	}
}

func (b *Browser) checkExceptions() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.exceptions {
		b.t.Errorf("browsertest: uncaught JavaScript exception in a page: %s", e)
	}
}

// run runs one action under ActionTimeout and fails the test on error.
func run[T any](b *Browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, ActionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("browsertest: %s: %v\n%s", what, err, b.describePage())
	}
	return v
}

// describePage is the current page's address and the start of its text, for a failure
// message: what the test saw instead of what it waited for.
func (b *Browser) describePage() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 1500) : ""`))
	return "page " + loc + ":\n" + text
}

// Do runs chromedp actions in order, failing the test on the first error.
func (b *Browser) Do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	run(b, "actions", chromedp.Steps(steps...))
}

// Context is the browser's chromedp context, for an action this package has no helper for.
func (b *Browser) Context() context.Context { return b.ctx }

// Open navigates to url, waits for the page to load and returns the HTTP status of the document.
func (b *Browser) Open(url string) int64 {
	b.t.Helper()
	res := run(b, "open "+url, chromedp.NavigateResponse(url))
	return statusOf(res)
}

// Submit clicks the element (a submit button or a link) and waits for the page it leads to;
// it returns that page's HTTP status.
func (b *Browser) Submit(selector string) int64 {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, ActionTimeout)
	defer cancel()
	res, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(selector)))
	if err != nil {
		b.t.Fatalf("browsertest: submit %s: %v\n%s", selector, err, b.describePage())
	}
	return statusOf(res)
}

func statusOf(res *network.Response) int64 {
	if res == nil {
		return 0
	}
	return res.Status
}

// Fill sets the value of each field, keyed by CSS selector (inputs, textareas and selects),
// as typing would: the input and change events fire.
func (b *Browser) Fill(fields map[string]string) {
	b.t.Helper()
	for sel, v := range fields {
		run(b, "wait for "+sel, chromedp.WaitReady(chromedp.CSS(sel)))
		sj, _ := json.Marshal(sel)
		vj, _ := json.Marshal(v)
		ok := run(b, "fill "+sel, chromedp.Evaluate[bool](`(() => { const el = document.querySelector(`+string(sj)+`);
  if (!el) return false;
  el.value = `+string(vj)+`;
  el.dispatchEvent(new Event('input', {bubbles: true}));
  el.dispatchEvent(new Event('change', {bubbles: true}));
  return true; })()`))
		if !ok {
			b.t.Fatalf("browsertest: no field %s\n%s", sel, b.describePage())
		}
	}
}

// Click clicks the element (a radio, a checkbox, a button that does not leave the page).
func (b *Browser) Click(selector string) {
	b.t.Helper()
	run(b, "click "+selector, chromedp.Click(chromedp.CSS(selector)))
}

// Text is the rendered text of the first element matching selector (waiting for it).
func (b *Browser) Text(selector string) string {
	b.t.Helper()
	return strings.TrimSpace(run(b, "text of "+selector, chromedp.Text(chromedp.CSS(selector))))
}

// Has reports whether an element matches selector now (no waiting).
func (b *Browser) Has(selector string) bool {
	b.t.Helper()
	sj, _ := json.Marshal(selector)
	return run(b, "look for "+selector, chromedp.Evaluate[bool]("document.querySelector("+string(sj)+") !== null"))
}

// Attr is an attribute of the first element matching selector ("" when absent).
func (b *Browser) Attr(selector, name string) string {
	b.t.Helper()
	return run(b, "attribute "+name+" of "+selector, chromedp.AttributeValue(chromedp.CSS(selector), name)).Value
}

// Location is the URL of the current page.
func (b *Browser) Location() string {
	b.t.Helper()
	return run(b, "location", chromedp.Location())
}

// Eval evaluates a JavaScript expression in the page and decodes its value into T.
func Eval[T any](b *Browser, expression string) T {
	b.t.Helper()
	return run(b, "evaluate "+expression, chromedp.Evaluate[T](expression, chromedp.EvalAwaitPromise))
}

// WaitFor polls the JavaScript expression until it is truthy, for at most timeout; it is how a
// test waits for a page that updates itself (the live rebuild progress).
func (b *Browser) WaitFor(expression string, timeout time.Duration) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[any](expression, chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			b.t.Fatalf("browsertest: %s was not true within %s\n%s", expression, timeout, b.describePage())
		}
		b.t.Fatalf("browsertest: waiting for %s: %v\n%s", expression, err, b.describePage())
	}
}

// Viewport resizes the viewport (MobileWidth for the small-screen checks).
func (b *Browser) Viewport(width, height int64) {
	b.t.Helper()
	b.Do(chromedp.EmulateViewport(width, height))
}
