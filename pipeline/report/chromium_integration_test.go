//go:build integration

package report_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/steadystate/steadystate/pipeline/findings/findingstest"
	"github.com/steadystate/steadystate/pipeline/report"
)

// Screenshot opens an HTML file in headless Chromium with every network
// feature off and returns the screenshot.
func screenshot(t *testing.T, htmlPath string, width, height int) image.Image {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	require.NoError(t, err, "chromium is not installed (make sysdeps, or apt-get install chromium)")
	dir := t.TempDir()
	shot := filepath.Join(dir, "shot.png")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--hide-scrollbars",
		"--window-size="+itoa(width)+","+itoa(height), "--screenshot="+shot, "file://"+htmlPath)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "chromium: %s", out)
	data, err := os.ReadFile(shot)
	require.NoError(t, err, "chromium wrote no screenshot: %s", out)
	img, err := png.Decode(bytes.NewReader(data))
	require.NoError(t, err)
	return img
}

func itoa(v int) string { return strconv.Itoa(v) }

// report.html opens in headless Chromium with no network and its charts
// render: the screenshot is not blank and shows the cohort colours of the
// inline SVG charts.
func TestReportHTMLRendersInChromium(t *testing.T) {
	dir := t.TempDir()
	_, err := report.Build(findingstest.GameDay()).WriteDir(dir)
	require.NoError(t, err)
	img := screenshot(t, filepath.Join(dir, "report.html"), 1000, 4000)

	b := img.Bounds()
	white, red, blue := 0, 0, 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			switch {
			case r > 250 && g > 250 && bl > 250:
				white++
			case near(r, 0xd6) && near(g, 0x27) && near(bl, 0x28):
				red++
			case near(r, 0x1f) && near(g, 0x77) && near(bl, 0xb4):
				blue++
			}
		}
	}
	total := b.Dx() * b.Dy()
	t.Logf("screenshot %dx%d: %.1f%% white, %d experiment-red and %d control-blue pixels", b.Dx(), b.Dy(), 100*float64(white)/float64(total), red, blue)
	assert.Less(t, white, total*98/100, "the page is not blank")
	assert.Greater(t, red, 500, "the experiment cohort's lines and bars are drawn")
	assert.Greater(t, blue, 500, "the control cohort's lines and bars are drawn")
}

func near(a, b uint32) bool { return a+8 >= b && a <= b+8 }
