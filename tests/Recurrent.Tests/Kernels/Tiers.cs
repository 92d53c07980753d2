using System.Runtime.Intrinsics;
using Xunit;

namespace Recurrent.Tests.Kernels;

/// <summary>The vector widths this machine accelerates, plus the scalar tier, for theories over every tier.</summary>
public static class Tiers
{
    public static TheoryData<string> All()
    {
        var data = new TheoryData<string> { "scalar" };
        if (Vector128.IsHardwareAccelerated)
        {
            data.Add("128");
        }

        if (Vector256.IsHardwareAccelerated)
        {
            data.Add("256");
        }

        if (Vector512.IsHardwareAccelerated)
        {
            data.Add("512");
        }

        return data;
    }

    public static bool Accelerated(string tier) => tier switch
    {
        "128" => Vector128.IsHardwareAccelerated,
        "256" => Vector256.IsHardwareAccelerated,
        "512" => Vector512.IsHardwareAccelerated,
        _ => true,
    };

    public static float[] Fill(System.Random random, int count, float scale)
    {
        float[] values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = (float)(((random.NextDouble() * 2) - 1) * scale);
        }

        return values;
    }
}
