package browsertest

import (
	"flag"
	"os"
	"path/filepath"

	"github.com/chromedp/chromedp"
)

// updateScreenshots makes Screenshot write docs/screenshots/; without it (the normal test
// run) the committed pictures stay as they are. JOBBOARD_UPDATE_SCREENSHOTS=1 does the same
// for a `go test ./...` where not every package knows the flag.
var updateScreenshots = flag.Bool("update-screenshots", false, "write the browser tests' screenshots into docs/screenshots/")

// ScreenshotsDir is where the screenshots shown in README.md live, relative to the repository.
const ScreenshotsDir = "docs/screenshots"

// Screenshot saves the visible part of the current page as docs/screenshots/<name>.png when
// screenshots are being updated, and does nothing otherwise. The viewport (not the full page)
// keeps the committed PNGs small.
func (b *Browser) Screenshot(name string) {
	b.t.Helper()
	if !*updateScreenshots && os.Getenv("JOBBOARD_UPDATE_SCREENSHOTS") != "1" {
		return
	}
	png := run(b, "screenshot "+name, chromedp.CaptureScreenshot())
	dir := filepath.Join(RepoRoot(b.t), ScreenshotsDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s", path)
}
