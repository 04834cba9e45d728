package report

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"strconv"
	"strings"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Chart is a line chart over time or a grouped bar chart, drawn the same
// way as SVG (for report.html) and PNG (beside report.md). Drawing is
// deterministic: the same chart gives the same bytes.
type Chart struct {
	// Name is the file name without extension, e.g. "error_rate".
	Name   string
	Title  string
	YLabel string
	// Lines (time series) or Bars (Categories x Series).
	Lines []Line
	// Shade marks the run window on a time axis.
	Shade *[2]time.Time
	// Categories and Bars make a grouped bar chart; Bars[i].Values has one
	// value per category.
	Categories []string
	Bars       []BarSeries
	// YFormat formats axis values; nil means plain numbers.
	YFormat func(float64) string
	// Continuous draws every line unbroken: its points are irregular
	// samples (live looks), not buckets where a gap means no data.
	Continuous bool
	// RefY draws a dashed horizontal line (e.g. 100% of the budget).
	RefY      *float64
	RefYLabel string
}

// Line is one series of a line chart.
type Line struct {
	Name   string
	Color  color.RGBA
	Points []Point
}

// Point is a value at a time.
type Point struct {
	T time.Time
	Y float64
}

// BarSeries is one series of a bar chart.
type BarSeries struct {
	Name   string
	Color  color.RGBA
	Values []float64
}

// Colors of the cohorts, the same in every chart.
var (
	ColorExperiment = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	ColorControl    = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	ColorOther      = color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff}
	colorAxis       = color.RGBA{R: 0x44, G: 0x44, B: 0x44, A: 0xff}
	colorGrid       = color.RGBA{R: 0xe0, G: 0xe0, B: 0xe0, A: 0xff}
	colorShade      = color.RGBA{R: 0xff, G: 0xd7, B: 0x00, A: 0x40}
	colorText       = color.RGBA{R: 0x22, G: 0x22, B: 0x22, A: 0xff}
)

const (
	chartW, chartH                       = 720, 280
	marginL, marginR, marginT, marginB   = 64, 16, 44, 40
	plotW, plotH                         = chartW - marginL - marginR, chartH - marginT - marginB
	anchorStart, anchorMiddle, anchorEnd = 0, 1, 2
)

// canvas is what a chart is drawn on.
type canvas interface {
	line(x1, y1, x2, y2 float64, c color.RGBA, width float64, dashed bool)
	polyline(xs, ys []float64, c color.RGBA, width float64)
	rect(x, y, w, h float64, c color.RGBA)
	text(x, y float64, s string, c color.RGBA, anchor int, bold bool)
}

// draw lays the chart out on a canvas of chartW x chartH.
func (ch *Chart) draw(cv canvas) {
	cv.rect(0, 0, chartW, chartH, color.RGBA{R: 0xff, G: 0xff, B: 0xff, A: 0xff})
	cv.text(marginL, 18, ch.Title, colorText, anchorStart, true)
	cv.text(marginL, 34, ch.YLabel, colorAxis, anchorStart, false)
	yfmt := ch.YFormat
	if yfmt == nil {
		yfmt = trimNum
	}
	ymax := 0.0
	for _, l := range ch.Lines {
		for _, p := range l.Points {
			ymax = math.Max(ymax, p.Y)
		}
	}
	for _, b := range ch.Bars {
		for _, v := range b.Values {
			ymax = math.Max(ymax, v)
		}
	}
	if ch.RefY != nil {
		ymax = math.Max(ymax, *ch.RefY)
	}
	ticks := niceTicks(ymax)
	top := ticks[len(ticks)-1]
	ypos := func(v float64) float64 { return marginT + plotH - v/top*plotH }
	for _, tk := range ticks {
		y := ypos(tk)
		cv.line(marginL, y, marginL+plotW, y, colorGrid, 1, false)
		cv.text(marginL-6, y+4, yfmt(tk), colorAxis, anchorEnd, false)
	}
	if len(ch.Categories) > 0 {
		ch.drawBars(cv, ypos)
	} else {
		ch.drawLines(cv, ypos)
	}
	cv.line(marginL, marginT+plotH, marginL+plotW, marginT+plotH, colorAxis, 1, false)
	cv.line(marginL, marginT, marginL, marginT+plotH, colorAxis, 1, false)
	if ch.RefY != nil {
		y := ypos(*ch.RefY)
		cv.line(marginL, y, marginL+plotW, y, colorAxis, 1, true)
		cv.text(marginL+plotW-4, y-4, ch.RefYLabel, colorAxis, anchorEnd, false)
	}
	// Legend, right-aligned in the title row.
	x := float64(chartW - marginR)
	names, colors := ch.legend()
	for i := len(names) - 1; i >= 0; i-- {
		w := float64(len(names[i])*7 + 22)
		x -= w
		cv.rect(x, 10, 12, 10, colors[i])
		cv.text(x+16, 19, names[i], colorText, anchorStart, false)
	}
}

func (ch *Chart) legend() ([]string, []color.RGBA) {
	var names []string
	var colors []color.RGBA
	for _, l := range ch.Lines {
		names, colors = append(names, l.Name), append(colors, l.Color)
	}
	for _, b := range ch.Bars {
		names, colors = append(names, b.Name), append(colors, b.Color)
	}
	return names, colors
}

func (ch *Chart) timeRange() (time.Time, time.Time) {
	var lo, hi time.Time
	for _, l := range ch.Lines {
		for _, p := range l.Points {
			if lo.IsZero() || p.T.Before(lo) {
				lo = p.T
			}
			if hi.IsZero() || p.T.After(hi) {
				hi = p.T
			}
		}
	}
	if ch.Shade != nil {
		if lo.IsZero() || ch.Shade[0].Before(lo) {
			lo = ch.Shade[0]
		}
		if hi.IsZero() || ch.Shade[1].After(hi) {
			hi = ch.Shade[1]
		}
	}
	if !hi.After(lo) {
		hi = lo.Add(time.Minute)
	}
	return lo, hi
}

func (ch *Chart) drawLines(cv canvas, ypos func(float64) float64) {
	lo, hi := ch.timeRange()
	span := hi.Sub(lo).Seconds()
	xpos := func(t time.Time) float64 { return marginL + t.Sub(lo).Seconds()/span*plotW }
	if ch.Shade != nil {
		x1, x2 := xpos(ch.Shade[0]), xpos(ch.Shade[1])
		cv.rect(x1, marginT, x2-x1, plotH, colorShade)
		cv.text(x1+4, marginT+plotH-6, "run", colorAxis, anchorStart, false)
	}
	step := timeStep(hi.Sub(lo))
	for t := lo.Truncate(step); !t.After(hi); t = t.Add(step) {
		if t.Before(lo) {
			continue
		}
		x := xpos(t)
		cv.line(x, marginT+plotH, x, marginT+plotH+4, colorAxis, 1, false)
		cv.text(x, marginT+plotH+16, t.UTC().Format("15:04"), colorAxis, anchorMiddle, false)
	}
	cv.text(marginL+plotW, marginT+plotH+32, "UTC", colorAxis, anchorEnd, false)
	for _, l := range ch.Lines {
		segs := [][]Point{l.Points}
		if !ch.Continuous {
			segs = segments(l.Points)
		}
		for _, seg := range segs {
			xs := make([]float64, len(seg))
			ys := make([]float64, len(seg))
			for i, p := range seg {
				xs[i], ys[i] = xpos(p.T), ypos(p.Y)
			}
			if len(seg) == 1 {
				// A lone bucket: a short tick, so it is visible.
				xs, ys = []float64{xs[0] - 2, xs[0] + 2}, []float64{ys[0], ys[0]}
			}
			cv.polyline(xs, ys, l.Color, 2)
		}
	}
}

// segments splits a series where buckets are missing (a gap longer than
// twice its usual spacing), so a line never bridges time without data:
// an experiment cohort that exists only during the run is not drawn
// across the time before it.
func segments(pts []Point) [][]Point {
	if len(pts) < 2 {
		if len(pts) == 1 {
			return [][]Point{pts}
		}
		return nil
	}
	var step time.Duration
	for i := 1; i < len(pts); i++ {
		if d := pts[i].T.Sub(pts[i-1].T); d > 0 && (step == 0 || d < step) {
			step = d
		}
	}
	var out [][]Point
	start := 0
	for i := 1; i < len(pts); i++ {
		if step > 0 && pts[i].T.Sub(pts[i-1].T) > 2*step {
			out = append(out, pts[start:i])
			start = i
		}
	}
	return append(out, pts[start:])
}

func (ch *Chart) drawBars(cv canvas, ypos func(float64) float64) {
	n := len(ch.Categories)
	groupW := float64(plotW) / float64(n)
	barW := groupW * 0.8 / float64(max(len(ch.Bars), 1))
	for i, cat := range ch.Categories {
		x0 := marginL + float64(i)*groupW + groupW*0.1
		for j, b := range ch.Bars {
			if i >= len(b.Values) {
				continue
			}
			y := ypos(b.Values[i])
			cv.rect(x0+float64(j)*barW, y, barW-2, marginT+plotH-y, b.Color)
		}
		cv.text(marginL+float64(i)*groupW+groupW/2, marginT+plotH+16, cat, colorAxis, anchorMiddle, false)
	}
}

// niceTicks returns 0 and 4-6 round values up to at least max.
func niceTicks(maxV float64) []float64 {
	if maxV <= 0 || math.IsNaN(maxV) || math.IsInf(maxV, 0) {
		maxV = 1
	}
	raw := maxV / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var out []float64
	for v := 0.0; ; v += step {
		out = append(out, round(v, 9))
		if v >= maxV-1e-12 {
			break
		}
	}
	return out
}

func timeStep(span time.Duration) time.Duration {
	for _, s := range []time.Duration{time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour, 24 * time.Hour} {
		if span/s <= 8 {
			return s
		}
	}
	return 24 * time.Hour
}

func round(v float64, prec int) float64 {
	p := math.Pow(10, float64(prec))
	return math.Round(v*p) / p
}

func trimNum(v float64) string {
	s := strconv.FormatFloat(round(v, 6), 'f', -1, 64)
	return s
}

// SVG returns the chart as an SVG element (no XML prolog), for inlining.
func (ch *Chart) SVG() string {
	s := &svgCanvas{}
	fmt.Fprintf(&s.b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s" font-family="sans-serif" font-size="12">`,
		chartW, chartH, chartW, chartH, h(ch.Title))
	ch.draw(s)
	s.b.WriteString("</svg>")
	return s.b.String()
}

type svgCanvas struct{ b strings.Builder }

func f1(v float64) string { return strconv.FormatFloat(round(v, 1), 'f', -1, 64) }

func rgb(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

func opacity(c color.RGBA) string {
	if c.A == 0xff {
		return ""
	}
	return ` fill-opacity="` + strconv.FormatFloat(round(float64(c.A)/255, 3), 'f', -1, 64) + `"`
}

func (s *svgCanvas) line(x1, y1, x2, y2 float64, c color.RGBA, width float64, dashed bool) {
	dash := ""
	if dashed {
		dash = ` stroke-dasharray="6 4"`
	}
	fmt.Fprintf(&s.b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="%s"%s/>`, f1(x1), f1(y1), f1(x2), f1(y2), rgb(c), f1(width), dash)
}

func (s *svgCanvas) polyline(xs, ys []float64, c color.RGBA, width float64) {
	if len(xs) == 0 {
		return
	}
	s.b.WriteString(`<polyline fill="none" stroke="` + rgb(c) + `" stroke-width="` + f1(width) + `" stroke-linejoin="round" points="`)
	for i := range xs {
		if i > 0 {
			s.b.WriteByte(' ')
		}
		s.b.WriteString(f1(xs[i]) + "," + f1(ys[i]))
	}
	s.b.WriteString(`"/>`)
}

func (s *svgCanvas) rect(x, y, w, h float64, c color.RGBA) {
	fmt.Fprintf(&s.b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"%s/>`, f1(x), f1(y), f1(math.Max(w, 0)), f1(math.Max(h, 0)), rgb(c), opacity(c))
}

func (s *svgCanvas) text(x, y float64, str string, c color.RGBA, anchor int, bold bool) {
	a := []string{"start", "middle", "end"}[anchor]
	weight := ""
	if bold {
		weight = ` font-weight="bold" font-size="14"`
	}
	fmt.Fprintf(&s.b, `<text x="%s" y="%s" fill="%s" text-anchor="%s"%s>%s</text>`, f1(x), f1(y), rgb(c), a, weight, h(str))
}

// PNG renders the chart as a PNG image.
func (ch *Chart) PNG() ([]byte, error) {
	p := &pngCanvas{img: image.NewRGBA(image.Rect(0, 0, chartW, chartH))}
	ch.draw(p)
	var buf bytes.Buffer
	if err := png.Encode(&buf, p.img); err != nil {
		return nil, fmt.Errorf("encode %s.png: %w", ch.Name, err)
	}
	return buf.Bytes(), nil
}

type pngCanvas struct{ img *image.RGBA }

// blend paints one pixel with alpha.
func (p *pngCanvas) blend(x, y int, c color.RGBA) {
	if !(image.Point{X: x, Y: y}.In(p.img.Rect)) {
		return
	}
	if c.A == 0xff {
		p.img.SetRGBA(x, y, c)
		return
	}
	d := p.img.RGBAAt(x, y)
	a := uint32(c.A)
	mix := func(s, t uint8) uint8 { return uint8((uint32(s)*a + uint32(t)*(255-a)) / 255) }
	p.img.SetRGBA(x, y, color.RGBA{R: mix(c.R, d.R), G: mix(c.G, d.G), B: mix(c.B, d.B), A: 0xff})
}

func (p *pngCanvas) line(x1, y1, x2, y2 float64, c color.RGBA, width float64, dashed bool) {
	steps := int(math.Max(math.Abs(x2-x1), math.Abs(y2-y1))) + 1
	half := int(width / 2)
	for i := 0; i <= steps; i++ {
		if dashed && (i/5)%2 == 1 {
			continue
		}
		t := float64(i) / float64(steps)
		x := int(math.Round(x1 + (x2-x1)*t))
		y := int(math.Round(y1 + (y2-y1)*t))
		for dx := -half; dx <= half; dx++ {
			for dy := -half; dy <= half; dy++ {
				if width < 2 && (dx != 0 || dy != 0) {
					continue
				}
				p.img.SetRGBA(x+dx, y+dy, c)
			}
		}
	}
}

func (p *pngCanvas) polyline(xs, ys []float64, c color.RGBA, width float64) {
	for i := 1; i < len(xs); i++ {
		p.line(xs[i-1], ys[i-1], xs[i], ys[i], c, width, false)
	}
	if len(xs) == 1 {
		p.rect(xs[0]-2, ys[0]-2, 4, 4, c)
	}
}

func (p *pngCanvas) rect(x, y, w, h float64, c color.RGBA) {
	for yy := int(math.Round(y)); yy < int(math.Round(y+h)); yy++ {
		for xx := int(math.Round(x)); xx < int(math.Round(x+w)); xx++ {
			p.blend(xx, yy, c)
		}
	}
}

func (p *pngCanvas) text(x, y float64, s string, c color.RGBA, anchor int, bold bool) {
	d := &font.Drawer{Dst: p.img, Src: image.NewUniform(c), Face: basicfont.Face7x13}
	w := d.MeasureString(s).Round()
	switch anchor {
	case anchorMiddle:
		x -= float64(w) / 2
	case anchorEnd:
		x -= float64(w)
	}
	d.Dot = fixed.P(int(math.Round(x)), int(math.Round(y)))
	d.DrawString(s)
	if bold { // overstrike one pixel right
		d.Dot = fixed.P(int(math.Round(x))+1, int(math.Round(y)))
		d.DrawString(s)
	}
}
