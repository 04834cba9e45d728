package report

import (
	"fmt"
	"html"
	"strings"

	"github.com/steadystate/steadystate/pipeline/findings"
)

// Markdown is report.md. Charts are linked as charts/NAME.png.
func (r *Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n_%s_\n", mdText(r.title()), mdText(r.subtitle()))
	for _, s := range r.sections() {
		fmt.Fprintf(&b, "\n## %s\n", s.title)
		for _, bl := range s.blocks {
			b.WriteString("\n")
			switch v := bl.(type) {
			case para:
				if v.quote {
					b.WriteString("> ")
				}
				b.WriteString(mdText(v.text) + "\n")
			case table:
				b.WriteString("| " + strings.Join(mdCells(v.header), " | ") + " |\n")
				b.WriteString("|" + strings.Repeat(" --- |", len(v.header)) + "\n")
				for _, row := range v.rows {
					b.WriteString("| " + strings.Join(mdCells(row), " | ") + " |\n")
				}
			case list:
				for _, it := range v.items {
					b.WriteString("- " + mdText(it) + "\n")
				}
			case chartRef:
				fmt.Fprintf(&b, "![%s](charts/%s.png)\n", mdText(v.chart.Title), v.chart.Name)
			case findingBlock:
				f := v.f
				fmt.Fprintf(&b, "### [%s] %s\n\n%s\n\n", strings.ToUpper(string(f.Severity)), mdText(f.Title), mdText(f.Summary))
				for _, e := range f.Evidence {
					b.WriteString("- " + mdText(e) + "\n")
				}
				if ref := findingRef(f, "`"); ref != "" {
					b.WriteString("\n" + ref + "\n")
				}
			}
		}
	}
	return b.String()
}

func findingRef(f findings.Finding, code string) string {
	var parts []string
	if f.Chart != "" {
		parts = append(parts, "chart: "+code+f.Chart+code)
	}
	if f.Query != "" {
		parts = append(parts, "query: "+code+"queries/"+f.Query+code)
	}
	return strings.Join(parts, " · ")
}

func mdCells(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = strings.ReplaceAll(mdText(c), "|", `\|`)
	}
	return out
}

// mdText keeps text from being read as Markdown markup or HTML.
func mdText(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	r := strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "`", "\\`", "<", "&lt;", ">", "&gt;", "[", `\[`, "]", `\]`)
	return r.Replace(s)
}

const css = `body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.8em}h3{font-size:1.05em;margin-bottom:.3em}
.sub{color:#666;font-size:.9em}table{border-collapse:collapse;margin:.6em 0;font-size:.9em}th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f5f5f5}blockquote{border-left:4px solid #ccc;margin:.6em 0;padding:.2em 1em;color:#555}
.sev{display:inline-block;padding:1px 6px;border-radius:3px;color:#fff;font-size:.8em;font-weight:bold;margin-right:.4em}
.sev-critical{background:#a50f15}.sev-high{background:#de2d26}.sev-medium{background:#fb6a4a}.sev-low{background:#fcae91;color:#222}.sev-info{background:#bbb;color:#222}
.verdict{font-size:1.2em;font-weight:bold}.ref{color:#666;font-size:.85em}figure{margin:1em 0}svg{max-width:100%;height:auto;border:1px solid #eee}`

// HTML is report.html: one self-contained page (inline CSS and SVG, no
// scripts, no external resources).
func (r *Report) HTML() string {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	b.WriteString("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n")
	fmt.Fprintf(&b, "<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n", h(r.title()), css)
	fmt.Fprintf(&b, "<h1>%s</h1>\n<p class=\"sub\">%s</p>\n", h(r.title()), h(r.subtitle()))
	for _, s := range r.sections() {
		fmt.Fprintf(&b, "<section id=\"%s\">\n<h2>%s</h2>\n", s.id, h(s.title))
		for i, bl := range s.blocks {
			switch v := bl.(type) {
			case para:
				switch {
				case v.quote:
					fmt.Fprintf(&b, "<blockquote>%s</blockquote>\n", h(v.text))
				case s.id == "summary" && i == 0:
					fmt.Fprintf(&b, "<p class=\"verdict\">%s</p>\n", h(v.text))
				default:
					fmt.Fprintf(&b, "<p>%s</p>\n", h(v.text))
				}
			case table:
				b.WriteString("<table>\n<tr>")
				for _, c := range v.header {
					fmt.Fprintf(&b, "<th>%s</th>", h(c))
				}
				b.WriteString("</tr>\n")
				for _, row := range v.rows {
					b.WriteString("<tr>")
					for _, c := range row {
						fmt.Fprintf(&b, "<td>%s</td>", h(c))
					}
					b.WriteString("</tr>\n")
				}
				b.WriteString("</table>\n")
			case list:
				b.WriteString("<ul>\n")
				for _, it := range v.items {
					fmt.Fprintf(&b, "<li>%s</li>\n", h(it))
				}
				b.WriteString("</ul>\n")
			case chartRef:
				fmt.Fprintf(&b, "<figure id=\"chart-%s\">\n%s\n</figure>\n", v.chart.Name, v.chart.SVG())
			case findingBlock:
				f := v.f
				fmt.Fprintf(&b, "<article id=\"finding-%s\">\n<h3><span class=\"sev sev-%s\">%s</span>%s</h3>\n<p>%s</p>\n<ul>\n",
					h(slug(f.ID)), h(string(f.Severity)), h(strings.ToUpper(string(f.Severity))), h(f.Title), h(f.Summary))
				for _, e := range f.Evidence {
					fmt.Fprintf(&b, "<li>%s</li>\n", h(e))
				}
				b.WriteString("</ul>\n")
				if ref := findingRef(f, ""); ref != "" {
					fmt.Fprintf(&b, "<p class=\"ref\">%s</p>\n", h(ref))
				}
				b.WriteString("</article>\n")
			}
		}
		b.WriteString("</section>\n")
	}
	b.WriteString("</body>\n</html>\n")
	return b.String()
}

func h(s string) string { return html.EscapeString(s) }

func slug(s string) string {
	return strings.Map(func(r rune) rune {
		if (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '-'
	}, s)
}
