package bench

import (
	"fmt"
	"io"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Plot size, and the part of its width the legend takes on the right.
const (
	plotWidth   = 9 * vg.Inch
	plotHeight  = 5 * vg.Inch
	legendWidth = 2.1 * vg.Inch
)

// WritePlot draws, as SVG to w, p50 (solid) and p99 (dashed) latency
// against offered load for every system's paced pairs: open-loop windows,
// each send's latency counted from when it was due. The full-speed windows
// are left out: their senders wait for answers (closed loop), so their
// latency says something else.
func WritePlot(w io.Writer, results []Result) error { return writePlot(w, results, "svg") }

// writePlot draws the plot in format (svg, png...).
func writePlot(w io.Writer, results []Result, format string) error {
	p := plot.New()
	p.Title.Text = "spartan-bench: send to receive latency against offered load (pairs; p50 solid, p99 dashed)"
	p.X.Label.Text = "offered load, messages / s (log)"
	p.Y.Label.Text = "latency, ms (log)"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, plot.LogTicks{Prec: -1}
	p.Add(plotter.NewGrid())
	legend := plot.NewLegend()
	legend.Top, legend.Left = true, true
	i := 0
	for _, sys := range systems(results) {
		var pts []Result
		for _, r := range results {
			if r.System == sys && r.Workload == WorkloadPairs && r.Fraction > 0 && r.Offered > 0 && r.Latency.Count > 0 {
				pts = append(pts, r)
			}
		}
		if len(pts) == 0 {
			continue
		}
		slices.SortFunc(pts, func(a, b Result) int {
			switch {
			case a.Offered < b.Offered:
				return -1
			case a.Offered > b.Offered:
				return 1
			}
			return 0
		})
		for j, of := range []func(Percentiles) float64{
			func(p Percentiles) float64 { return p.P50 },
			func(p Percentiles) float64 { return p.P99 },
		} {
			xys := make(plotter.XYs, len(pts))
			for k, r := range pts {
				xys[k].X = r.Offered
				xys[k].Y = max(of(r.Latency), 0.001)
			}
			line, points, err := plotter.NewLinePoints(xys)
			if err != nil {
				return fmt.Errorf("plot %s: %w", sys, err)
			}
			line.Color, points.Color, points.Shape = plotutil.Color(i), plotutil.Color(i), plotutil.Shape(i)
			if j == 1 {
				line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			} else {
				legend.Add(sys, line, points)
			}
			p.Add(line, points)
		}
		i++
	}
	c, err := draw.NewFormattedCanvas(plotWidth, plotHeight, format)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	dc := draw.New(c)
	p.Draw(draw.Crop(dc, 0, -legendWidth, 0, 0))
	legend.Draw(draw.Crop(dc, plotWidth-legendWidth+vg.Points(10), 0, 0, -vg.Points(30)))
	if _, err := c.WriteTo(w); err != nil {
		return fmt.Errorf("write the plot: %w", err)
	}
	return nil
}
