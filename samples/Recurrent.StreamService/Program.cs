// A streaming service: one StreamHost serves the package sample's PyTorch-trained LSTM to every client over HTTP.
// Each stream keeps its state in the host; each request advances it by one chunk; whatever chunks are pending from
// all clients run as one batched step. Loopback only:
//   dotnet run --project samples/Recurrent.StreamService -c Release -- --urls http://127.0.0.1:5089
//
//   POST   /streams                 open a stream (body: empty, or a state snapshot as float32 bytes) → {"id": n}
//   POST   /streams/{id}/digits     JSON [3, 1, 4] → the chunk's last logits and group: {"steps", "stepsRun", "logits", "group"}
//   POST   /streams/{id}/features   float32 bytes (steps × 16) → the chunk's LSTM outputs, float32 bytes (steps × 32)
//   GET    /streams/{id}/state      the state snapshot, float32 bytes (h then c: 64 floats), to move the stream elsewhere
//   DELETE /streams/{id}            close it
//   GET    /stats[?gc=1]            the host's counters and the managed heap (after a full collection with gc=1)
// A stream nobody has used for --idle-seconds (default 300) is closed: clients vanish without saying goodbye.
using System;
using System.Buffers;
using System.Collections.Concurrent;
using System.IO;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Recurrent.Samples.Streaming;
using Recurrent.Streaming;

WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = 1 << 20);
WebApplication app = builder.Build();

DigitModel model = DigitModel.Load(Path.Combine(AppContext.BaseDirectory, "model.pt"));
var options = new StreamHostOptions { MaxChunkSteps = 64, MaxOpenStreams = 20_000, MaxPendingChunks = 4096 };
using var host = new StreamHost(model.Lstm, options);
var streams = new ConcurrentDictionary<long, StreamSession>();
var lastUsed = new ConcurrentDictionary<long, long>();
double idleSeconds = double.Parse(app.Configuration["idle-seconds"] ?? "300", System.Globalization.CultureInfo.InvariantCulture);
using var sweeper = new Timer(
    _ =>
    {
        long cutoff = Environment.TickCount64 - (long)(idleSeconds * 1000);
        foreach ((long id, long used) in lastUsed)
        {
            if (used < cutoff)
            {
                lastUsed.TryRemove(id, out long _);
                if (streams.TryRemove(id, out StreamSession? idle))
                {
                    idle.Dispose();
                }
            }
        }
    },
    null,
    TimeSpan.FromSeconds(Math.Min(idleSeconds, 10)),
    TimeSpan.FromSeconds(Math.Min(idleSeconds, 10)));
const int MaxChunkBytes = 64 * DigitModel.Features * sizeof(float);

app.MapPost("/streams", async (HttpRequest request) =>
{
    (float[]? state, IResult? refused) = await ReadFloats(request, host.StateSize * sizeof(float));
    if (state is null)
    {
        return refused!;
    }

    try
    {
        StreamSession stream = state.Length == 0 ? host.Open() : host.Open(state);
        lastUsed[stream.Id] = Environment.TickCount64;
        streams[stream.Id] = stream;
        return Results.Json(new OpenReply(stream.Id), AppJson.Default.OpenReply);
    }
    catch (Exception e) when (e is ArgumentException or InvalidOperationException)
    {
        return Fail(e);
    }
});

app.MapPost("/streams/{id:long}/digits", async (long id, HttpContext context) =>
{
    if (!streams.TryGetValue(id, out StreamSession? stream))
    {
        return NotFound(id);
    }

    lastUsed[id] = Environment.TickCount64;

    int[]? digits;
    try
    {
        digits = await context.Request.ReadFromJsonAsync(AppJson.Default.Int32Array, context.RequestAborted);
    }
    catch (Exception e) when (e is System.Text.Json.JsonException or BadHttpRequestException)
    {
        return Results.Problem($"the body must be a JSON array of digits: {e.Message}", statusCode: 400);
    }

    if (digits is null || digits.Length == 0 || digits.Length > options.MaxChunkSteps)
    {
        return Results.Problem($"a chunk is 1 to {options.MaxChunkSteps} digits, but got {digits?.Length ?? 0}", statusCode: 400);
    }

    try
    {
        float[] features = new float[digits.Length * DigitModel.Features];
        model.Embed(digits, features);
        float[] outputs = await stream.SubmitAsync(features, context.RequestAborted);
        float[] logits = new float[3];
        model.Logits(outputs.AsSpan(outputs.Length - DigitModel.Hidden), logits);
        int best = logits[1] > logits[0] ? (logits[2] > logits[1] ? 2 : 1) : (logits[2] > logits[0] ? 2 : 0);
        return Results.Json(new DigitsReply(digits.Length, stream.StepsRun, logits, DigitModel.Groups[best]), AppJson.Default.DigitsReply);
    }
    catch (Exception e) when (e is not OperationCanceledException)
    {
        return Fail(e);
    }
});

app.MapPost("/streams/{id:long}/features", async (long id, HttpContext context) =>
{
    if (!streams.TryGetValue(id, out StreamSession? stream))
    {
        return NotFound(id);
    }

    lastUsed[id] = Environment.TickCount64;

    (float[]? features, IResult? refused) = await ReadFloats(context.Request, MaxChunkBytes);
    if (features is null)
    {
        return refused!;
    }

    try
    {
        float[] outputs = await stream.SubmitAsync(features, context.RequestAborted);
        return Results.Bytes(MemoryMarshal.AsBytes(outputs.AsSpan()).ToArray(), "application/octet-stream");
    }
    catch (Exception e) when (e is not OperationCanceledException)
    {
        return Fail(e);
    }
});

app.MapGet("/streams/{id:long}/state", (long id) =>
{
    if (!streams.TryGetValue(id, out StreamSession? stream))
    {
        return NotFound(id);
    }

    lastUsed[id] = Environment.TickCount64;

    try
    {
        return Results.Bytes(MemoryMarshal.AsBytes(stream.ExportState().AsSpan()).ToArray(), "application/octet-stream");
    }
    catch (InvalidOperationException e)
    {
        return Fail(e);
    }
});

app.MapDelete("/streams/{id:long}", (long id) =>
{
    if (!streams.TryRemove(id, out StreamSession? stream))
    {
        return NotFound(id);
    }

    lastUsed.TryRemove(id, out long _);
    stream.Dispose();
    return Results.NoContent();
});

app.MapGet("/stats", (HttpRequest request) =>
{
    if (request.Query["gc"] == "1")
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    StreamHostStatistics s = host.Statistics;
    return Results.Json(
        new StatsReply(s.Steps, s.Chunks, s.TimeSteps, s.MaxRows, s.OpenStreams, s.PendingChunks, s.AllocatedBytes, GC.GetTotalMemory(false), Environment.WorkingSet),
        AppJson.Default.StatsReply);
});

app.Run();

static IResult NotFound(long id) => Results.Problem($"no open stream {id}", statusCode: 404);

// ObjectDisposedException is an InvalidOperationException: the closed stream first.
static IResult Fail(Exception e) => e switch
{
    ObjectDisposedException => Results.Problem(e.Message, statusCode: 410),
    ArgumentException => Results.Problem(e.Message, statusCode: 400),
    InvalidOperationException => Results.Problem(e.Message, statusCode: 409),
    _ => Results.Problem(e.Message, statusCode: 500),
};

// The body as float32 values, at most maxBytes (a longer body is refused before it is read to the end).
static async Task<(float[]? Values, IResult? Refused)> ReadFloats(HttpRequest request, int maxBytes)
{
    byte[] buffer = ArrayPool<byte>.Shared.Rent(maxBytes + 1);
    try
    {
        int read = 0;
        while (read <= maxBytes)
        {
            int n = await request.Body.ReadAsync(buffer.AsMemory(read, maxBytes + 1 - read), request.HttpContext.RequestAborted);
            if (n == 0)
            {
                break;
            }

            read += n;
        }

        if (read > maxBytes)
        {
            return (null, Results.Problem($"the body holds at most {maxBytes} bytes", statusCode: 413));
        }

        if (read % sizeof(float) != 0)
        {
            return (null, Results.Problem($"the body is float32 values, but {read} bytes is not a whole number of them", statusCode: 400));
        }

        return (MemoryMarshal.Cast<byte, float>(buffer.AsSpan(0, read)).ToArray(), null);
    }
    finally
    {
        ArrayPool<byte>.Shared.Return(buffer);
    }
}

internal sealed record OpenReply(long Id);

internal sealed record DigitsReply(int Steps, long StepsRun, float[] Logits, string Group);

internal sealed record StatsReply(
    long Steps, long Chunks, long TimeSteps, int MaxRows, int OpenStreams, int PendingChunks, long HostAllocatedBytes, long ManagedBytes, long WorkingSet);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web)]
[System.Text.Json.Serialization.JsonSerializable(typeof(OpenReply))]
[System.Text.Json.Serialization.JsonSerializable(typeof(DigitsReply))]
[System.Text.Json.Serialization.JsonSerializable(typeof(StatsReply))]
[System.Text.Json.Serialization.JsonSerializable(typeof(int[]))]
internal sealed partial class AppJson : System.Text.Json.Serialization.JsonSerializerContext;
