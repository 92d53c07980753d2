using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using ScottPlot;

namespace Recurrent.Benchmarks;

/// <summary>
/// <c>chart TABLE.md OUT.png</c>: draws the side-by-side table (benchmarks/compare/run.sh's output) as grouped bars,
/// one group per configuration and thread count, one bar per runtime: its % of this machine's FMA peak, the one
/// measure comparable across configurations whose times differ by 1000×. Every column named "... % peak" is a runtime.
/// </summary>
public static class CompareChart
{
    public static int Run(string[] args)
    {
        if (args.Length != 3)
        {
            Console.Error.WriteLine("usage: chart <table.md> <chart.png>");
            return 2;
        }

        string[] lines = File.ReadAllLines(args[1]);
        (string[] runtimes, List<(string Row, double[] Peak)> rows) = Read(lines);
        var plot = new Plot();
        Color[] colors = [.. new ScottPlot.Palettes.Category10().Colors];
        for (int r = 0; r < runtimes.Length; r++)
        {
            var bars = new List<Bar>();
            for (int i = 0; i < rows.Count; i++)
            {
                double value = rows[i].Peak[r];
                if (!double.IsNaN(value))
                {
                    // Groups run down the chart; the runtimes' bars sit side by side within a group.
                    bars.Add(new Bar { Position = (i * (runtimes.Length + 1)) + r, Value = value, FillColor = colors[r % colors.Length] });
                }
            }

            var series = plot.Add.Bars(bars);
            series.Horizontal = true;
            series.LegendText = runtimes[r];
        }

        double[] centres = [.. rows.Select((_, i) => (i * (runtimes.Length + 1)) + ((runtimes.Length - 1) / 2.0))];
        plot.Axes.Left.SetTicks(centres, [.. rows.Select(r => r.Row)]);
        plot.Axes.Left.TickLabelStyle.FontSize = 11;
        plot.Axes.SetLimits(0, 100, (rows.Count * (runtimes.Length + 1)) - 1, -1);   // first row at the top
        plot.XLabel("% of FP32 FMA peak (higher is faster)");
        string heading = lines.FirstOrDefault(l => l.StartsWith("# ", StringComparison.Ordinal))?[2..] ?? Path.GetFileNameWithoutExtension(args[1]);
        plot.Title(heading + " (config B,T,I,H and threads)");
        plot.ShowLegend(Alignment.LowerRight);
        plot.SavePng(args[2], 1100, 120 + (rows.Count * 16 * (runtimes.Length + 1)));
        Console.WriteLine($"chart: {args[2]} ({rows.Count} rows, {string.Join(", ", runtimes)})");
        return 0;
    }

    /// <summary>The first markdown table's "% peak" columns: the runtimes' names and each row's values (NaN where blank).</summary>
    internal static (string[] Runtimes, List<(string Row, double[] Peak)> Rows) Read(string[] lines)
    {
        string[] Cells(string line) => [.. line.Trim().Trim('|').Split('|').Select(c => c.Trim())];
        int header = Array.FindIndex(lines, l => l.StartsWith('|') && l.Contains("% peak", StringComparison.Ordinal));
        if (header < 0)
        {
            throw new InvalidDataException("no table with '% peak' columns");
        }

        string[] names = Cells(lines[header]);
        int[] peakColumns = [.. Enumerable.Range(0, names.Length).Where(c => names[c].EndsWith("% peak", StringComparison.Ordinal))];
        int threadsColumn = Array.IndexOf(names, "threads");
        var rows = new List<(string, double[])>();
        foreach (string line in lines.Skip(header + 2).TakeWhile(l => l.StartsWith('|')))
        {
            string[] cells = Cells(line);
            string label = threadsColumn >= 0 ? $"{cells[0]} ({cells[threadsColumn]}T)" : cells[0];
            rows.Add((label, [.. peakColumns.Select(c => double.TryParse(cells[c].TrimEnd('%'), NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : double.NaN)]));
        }

        return ([.. peakColumns.Select(c => names[c][..^"% peak".Length].Trim())], rows);
    }
}
