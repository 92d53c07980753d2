using System;
using System.Globalization;
using System.IO;
using System.Linq;
using ScottPlot;

namespace Recurrent.Training;

/// <summary>The samples' pictures: line charts written as PNG with ScottPlot (the library itself draws nothing).</summary>
public static class Charts
{
    /// <summary>One line of a chart: its legend text and its points.</summary>
    public sealed record Series(string Name, double[] X, double[] Y);

    /// <summary>A training run's mean loss per epoch, as <c>&lt;task&gt;-loss.png</c> in <paramref name="folder"/>; returns the path.</summary>
    public static string LossCurve(string folder, string task, float[] epochLosses)
    {
        double[] epochs = [.. Enumerable.Range(1, epochLosses.Length).Select(e => (double)e)];
        Plot plot = Lines($"'{task}': mean training loss per epoch", "epoch", "cross-entropy loss", [new Series(task, epochs, [.. epochLosses.Select(l => (double)l)])]);
        plot.Axes.SetLimitsY(0, epochLosses.Max() * 1.05);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.HideLegend();
        return Save(plot, folder, task + "-loss.png");
    }

    /// <summary>
    /// The experiment's two charts in <paramref name="folder"/>: <c>gates-accuracy.png</c> (held-out accuracy against L,
    /// L spaced evenly) and <c>gates-gradients.png</c> (‖∂loss/∂h_t‖ against t on a log scale; an underflow to 0 ends
    /// the line). Returns both paths.
    /// </summary>
    public static (string Accuracy, string Gradients) Gates(string folder, GateResults results)
    {
        double[] positions = [.. Enumerable.Range(0, results.Lengths.Length).Select(i => (double)i)];
        Series[] accuracy = [.. GateExperiment.Variants.Select((v, k) => new Series(v.Name, positions, [.. results.Accuracy[k].Select(runs => 100 * runs.Average())]))];
        Plot accuracyPlot = Lines("Remember the first of L signs: held-out accuracy (mean over seeds)", "sequence length L", "accuracy (%)", accuracy);
        accuracyPlot.Axes.Bottom.SetTicks(positions, [.. results.Lengths.Select(l => l.ToString(CultureInfo.InvariantCulture))]);
        accuracyPlot.Axes.SetLimitsY(40, 105);
        accuracyPlot.ShowLegend(Alignment.LowerLeft);

        var gradients = GateExperiment.Variants.Select((v, k) =>
        {
            float[] norms = results.GradientNorms[k];
            int first = Array.FindLastIndex(norms, n => n == 0) + 1;   // steps before an underflow carry no gradient
            return new Series(v.Name, [.. Enumerable.Range(first + 1, norms.Length - first).Select(t => (double)t)], [.. norms.Skip(first).Select(n => Math.Log10(n))]);
        }).ToArray();
        Plot gradientPlot = Lines($"‖∂loss/∂h_t‖ at initialisation, L = {results.TraceLength} (the answer is at t = 1)", "step t", "gradient norm", gradients);
        int lowest = (int)Math.Floor(gradients.Min(s => s.Y.Min()));
        double[] decades = [.. Enumerable.Range(lowest, 1 - lowest).Where(d => d % 3 == 0).Select(d => (double)d)];
        gradientPlot.Axes.Left.SetTicks(decades, [.. decades.Select(d => d == 0 ? "1" : $"1e{d}")]);
        gradientPlot.ShowLegend(Alignment.LowerRight);
        return (Save(accuracyPlot, folder, "gates-accuracy.png"), Save(gradientPlot, folder, "gates-gradients.png"));
    }

    private static Plot Lines(string title, string xLabel, string yLabel, Series[] series)
    {
        var plot = new Plot();
        foreach (Series s in series)
        {
            var line = plot.Add.Scatter(s.X, s.Y);
            line.LegendText = s.Name;
            line.LineWidth = 2;
            line.MarkerSize = s.X.Length > 40 ? 0 : 6;
        }

        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        return plot;
    }

    private static string Save(Plot plot, string folder, string file)
    {
        Directory.CreateDirectory(folder);
        string path = Path.Combine(folder, file);
        plot.SavePng(path, 900, 540);
        return path;
    }
}
