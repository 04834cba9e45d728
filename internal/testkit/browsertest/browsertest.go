// Package browsertest starts headless Debian Chromium for the browser
// tests (the war room, the report) and reads their screenshots.
package browsertest

import (
	"bytes"
	"context"
	"image/png"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// Browser starts headless Chromium with every network feature off and a
// fresh profile; the returned context ends after timeout or with the test.
func Browser(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	require.NoError(t, err, "chromium is not installed (make sysdeps, or apt-get install chromium)")
	dir := t.TempDir()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(filepath.Join(dir, "profile")), chromedp.WindowSize(1600, 1200),
		chromedp.Env("HOME=" + dir),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	return ctx
}

// BannerPixels counts a PNG screenshot's pixels of the war room's stop
// banner red (#e00000) and of its black background.
func BannerPixels(t *testing.T, shot []byte) (red, dark, total int) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	require.NoError(t, err)
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			switch {
			case r >= 0xd8 && r <= 0xe8 && g < 0x10 && bl < 0x10:
				red++
			case r < 0x08 && g < 0x08 && bl < 0x08:
				dark++
			}
		}
	}
	return red, dark, b.Dx() * b.Dy()
}
