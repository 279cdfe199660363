package report

import (
	"fmt"
	"image/color"
	"path/filepath"
	"slices"
	"sort"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// WritePlots writes throughput.png, latency.png (when there are cells) and
// failover.png, failover-hist.png (when there are failover runs) into dir.
func WritePlots(dir string, r *Report) ([]string, error) {
	var files []string
	if len(r.Cells) > 0 {
		p := filepath.Join(dir, "throughput.png")
		if err := throughputPlot(r.Cells, p); err != nil {
			return files, fmt.Errorf("throughput plot: %w", err)
		}
		files = append(files, p)
		p = filepath.Join(dir, "latency.png")
		if err := latencyPlot(r.Cells, p); err != nil {
			return files, fmt.Errorf("latency plot: %w", err)
		}
		files = append(files, p)
	}
	if r.Failover != nil && len(r.Failover.Runs) > 0 {
		p := filepath.Join(dir, "failover.png")
		if err := failoverCDF(r.Failover, p); err != nil {
			return files, fmt.Errorf("failover plot: %w", err)
		}
		files = append(files, p)
		p = filepath.Join(dir, "failover-hist.png")
		if err := failoverHist(r.Failover, p); err != nil {
			return files, fmt.Errorf("failover histogram: %w", err)
		}
		files = append(files, p)
	}
	return files, nil
}

// series groups cells by Series(), each sorted by writers, in a stable
// order (backend, then direct, 3, 5).
func series(cells []Cell) ([]string, map[string][]Cell) {
	m := map[string][]Cell{}
	for _, c := range cells {
		m[c.Series()] = append(m[c.Series()], c)
	}
	order := map[string]int{Direct: 0, Zone3: 1, Zone5: 2}
	var keys []string
	for k, cs := range m {
		sort.Slice(cs, func(i, j int) bool { return cs[i].Writers < cs[j].Writers })
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := m[keys[i]][0], m[keys[j]][0]
		if a.Backend != b.Backend {
			return a.Backend > b.Backend // sqlite first
		}
		return order[a.Config] < order[b.Config]
	})
	return keys, m
}

func writerTicks(cells []Cell) plot.ConstantTicks {
	var ws []int
	for _, c := range cells {
		if !slices.Contains(ws, c.Writers) {
			ws = append(ws, c.Writers)
		}
	}
	slices.Sort(ws)
	var t plot.ConstantTicks
	for _, w := range ws {
		t = append(t, plot.Tick{Value: float64(w), Label: strconv.Itoa(w)})
	}
	return t
}

// style: colour by configuration, dashes by backend.
func style(c Cell) (color.Color, []vg.Length, draw.GlyphDrawer) {
	col := map[string]int{Direct: 0, Zone3: 1, Zone5: 2}[c.Config]
	var dashes []vg.Length
	var glyph draw.GlyphDrawer = draw.CircleGlyph{}
	if c.Backend == MariaDB {
		dashes = []vg.Length{vg.Points(6), vg.Points(3)}
		glyph = draw.SquareGlyph{}
	}
	return plotutil.Color(col), dashes, glyph
}

func newXYPlot(title, ylabel string, cells []Cell) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "concurrent writers"
	p.Y.Label.Text = ylabel
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = writerTicks(cells)
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	return p
}

func throughputPlot(cells []Cell, path string) error {
	p := newXYPlot("Write throughput: single-row INSERT via one.sql.exec", "successful writes/s", cells)
	keys, m := series(cells)
	for _, k := range keys {
		var pts plotter.XYs
		for _, c := range m[k] {
			pts = append(pts, plotter.XY{X: float64(c.Writers), Y: c.Throughput()})
		}
		if err := addLine(p, k, pts, m[k][0], false); err != nil {
			return err
		}
	}
	return p.Save(9*vg.Inch, 5.5*vg.Inch, path)
}

func latencyPlot(cells []Cell, path string) error {
	p := newXYPlot("Write latency: p50 (thin) and p99 (thick)", "ms (log)", cells)
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	keys, m := series(cells)
	for _, k := range keys {
		var p50, p99 plotter.XYs
		for _, c := range m[k] {
			if c.Ops == 0 || c.P50 <= 0 {
				continue
			}
			p50 = append(p50, plotter.XY{X: float64(c.Writers), Y: float64(c.P50.Microseconds()) / 1000})
			p99 = append(p99, plotter.XY{X: float64(c.Writers), Y: float64(c.P99.Microseconds()) / 1000})
		}
		if len(p50) == 0 {
			continue
		}
		if err := addLine(p, k+" p50", p50, m[k][0], false); err != nil {
			return err
		}
		if err := addLine(p, k+" p99", p99, m[k][0], true); err != nil {
			return err
		}
	}
	return p.Save(9*vg.Inch, 6*vg.Inch, path)
}

func addLine(p *plot.Plot, name string, pts plotter.XYs, c Cell, thick bool) error {
	l, s, err := plotter.NewLinePoints(pts)
	if err != nil {
		return err
	}
	col, dashes, glyph := style(c)
	l.Color, l.Dashes = col, dashes
	l.Width = vg.Points(1)
	if thick {
		l.Width = vg.Points(2.5)
	}
	s.Color, s.Shape = col, glyph
	p.Add(l, s)
	p.Legend.Add(name, l, s)
	return nil
}

func failoverCDF(f *Failover, path string) error {
	s := Sorted(f.Runs)
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Failover time CDF (%d runs)", len(s))
	p.X.Label.Text = "leader killed → first successful write (ms)"
	p.Y.Label.Text = "fraction of runs"
	p.Y.Min, p.Y.Max = 0, 1
	p.Add(plotter.NewGrid())
	pts := plotter.XYs{{X: float64(s[0].Milliseconds()), Y: 0}}
	for i, d := range s {
		pts = append(pts, plotter.XY{X: float64(d.Milliseconds()), Y: float64(i+1) / float64(len(s))})
	}
	l, err := plotter.NewLine(pts)
	if err != nil {
		return err
	}
	l.StepStyle = plotter.PostStep
	l.Width = vg.Points(2)
	l.Color = plotutil.Color(0)
	p.Add(l)
	return p.Save(7*vg.Inch, 4.5*vg.Inch, path)
}

func failoverHist(f *Failover, path string) error {
	var v plotter.Values
	for _, d := range f.Runs {
		v = append(v, float64(d.Milliseconds()))
	}
	bins := max(len(v)/2, 1)
	h, err := plotter.NewHist(v, min(bins, 20))
	if err != nil {
		return err
	}
	h.FillColor = plotutil.Color(1)
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Failover time histogram (%d runs)", len(v))
	p.X.Label.Text = "ms"
	p.Y.Label.Text = "runs"
	p.Add(h)
	return p.Save(7*vg.Inch, 4.5*vg.Inch, path)
}
