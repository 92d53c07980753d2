using System;

namespace Recurrent.Internals;

/// <summary>PyTorch's initial distributions (<c>init.uniform_</c>, <c>init.normal_</c>) drawn from a .NET <see cref="Random"/>.</summary>
internal static class Init
{
    public static void Uniform(Span<float> values, float bound, Random random)
    {
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)((((random.NextDouble() * 2) - 1)) * bound);
        }
    }

    /// <summary>Standard normal values by the Box–Muller transform.</summary>
    public static void Normal(Span<float> values, Random random)
    {
        for (int i = 0; i < values.Length; i += 2)
        {
            double u1 = 1.0 - random.NextDouble();
            double u2 = random.NextDouble();
            double radius = Math.Sqrt(-2.0 * Math.Log(u1));
            values[i] = (float)(radius * Math.Cos(2 * Math.PI * u2));
            if (i + 1 < values.Length)
            {
                values[i + 1] = (float)(radius * Math.Sin(2 * Math.PI * u2));
            }
        }
    }

    public static Random CreateRandom(int? seed) => seed is int s ? new Random(s) : new Random();
}
