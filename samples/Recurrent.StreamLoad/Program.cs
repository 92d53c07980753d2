// The stream service's load generator (loopback only, bounded in streams, chunks and time). Opens N streams, sends each
// M chunks of K random digits, times every chunk, and checks every answer against the same model run alone on that
// stream's whole input (bit for bit). With --chaos it then tries what a real service meets: malformed chunks, cancelled
// submissions, streams closed mid-chunk, clients that never read or never finish sending, a burst of opens; after each,
// the service must keep serving the others with their results still exact, and memory must come back.
//   dotnet run --project samples/Recurrent.StreamLoad -c Release -- --url http://127.0.0.1:5089 --streams 32 --chunks 50 --steps 4 --chaos
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Recurrent;
using Recurrent.Samples.Streaming;

string url = Arg("--url", "http://127.0.0.1:5089");
int streamCount = int.Parse(Arg("--streams", "32"), CultureInfo.InvariantCulture);
int chunkCount = int.Parse(Arg("--chunks", "50"), CultureInfo.InvariantCulture);
int steps = int.Parse(Arg("--steps", "4"), CultureInfo.InvariantCulture);
int burst = int.Parse(Arg("--burst", "10000"), CultureInfo.InvariantCulture);
double seconds = double.Parse(Arg("--seconds", "180"), CultureInfo.InvariantCulture);
bool chaos = args.Contains("--chaos");
double idleClose = double.Parse(Arg("--expect-idle-close", "0"), CultureInfo.InvariantCulture);
var uri = new Uri(url);
if (!IPAddress.IsLoopback(Dns.GetHostAddresses(uri.Host)[0]))
{
    Console.Error.WriteLine($"the load generator talks to loopback only, not {uri.Host}");
    return 2;
}

using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 512 }) { BaseAddress = uri, Timeout = TimeSpan.FromSeconds(60) };
DigitModel model = DigitModel.Load(Path.Combine(AppContext.BaseDirectory, "model.pt"));
int failures = 0;

void Check(bool ok, string what)
{
    Console.WriteLine($"  {(ok ? "PASS" : "FAIL")}  {what}");
    if (!ok)
    {
        Interlocked.Increment(ref failures);
    }
}

try
{
    Console.WriteLine($"== load: {streamCount} streams x {chunkCount} chunks of {steps} digits, every answer checked against the model run alone");
    Stats before = await GetStats(false);
    (int exact, List<double> latencies, double elapsed) = await RunLoad(streamCount, chunkCount, steps, seed: 1);
    Stats after = await GetStats(false);
    latencies.Sort();
    long chunks = after.Chunks - before.Chunks, batchedSteps = after.Steps - before.Steps;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  throughput {streamCount * chunkCount * steps / elapsed:N0} digits/s, {streamCount * chunkCount / elapsed:N0} chunks/s; chunk latency p50 {Pct(latencies, 0.5):F2} ms, p99 {Pct(latencies, 0.99):F2} ms"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  the host ran {chunks:N0} chunks in {batchedSteps:N0} batched steps ({(double)chunks / Math.Max(1, batchedSteps):F1} streams a step, at most {after.MaxRows}); its steps allocated {after.HostAllocatedBytes - before.HostAllocatedBytes:N0} bytes"));
    Check(exact == streamCount, $"{exact} of {streamCount} streams equal the model run alone on their whole input, bit for bit");

    if (chaos)
    {
        await Malformed();
        await Cancelled(40);
        await ClosedMidChunk(40);
        await SilentClients();
        await Burst(burst);
    }

    if (idleClose > 0)
    {
        Console.WriteLine($"== streams left open by vanished clients are closed by the service after {idleClose} s idle");
        var waited = Stopwatch.StartNew();
        int open;
        while ((open = (await GetStats(false)).OpenStreams) > 0 && waited.Elapsed.TotalSeconds < (3 * idleClose) + 2)
        {
            await Task.Delay(200, deadline.Token);
        }

        Check(open == 0, string.Create(CultureInfo.InvariantCulture, $"no stream open {waited.Elapsed.TotalSeconds:F1} s later ({open} left)"));
    }
}
catch (OperationCanceledException) when (deadline.IsCancellationRequested)
{
    Check(false, $"finished within the {seconds} s bound");
}

Console.WriteLine(failures == 0 ? "all checks passed" : $"{failures} check(s) failed");
return failures == 0 ? 0 : 1;

// N clients at once; returns how many streams were exact, every chunk's latency (ms) and the wall time (s).
async Task<(int Exact, List<double> Latencies, double Seconds)> RunLoad(int n, int m, int k, int seed)
{
    var latencies = new List<double>[n];
    var watch = Stopwatch.StartNew();
    bool[] exact = await Task.WhenAll(Enumerable.Range(0, n).Select(async s =>
    {
        latencies[s] = new List<double>(m);
        var random = new Random((seed * 100_003) + s);
        long id = await Open();
        int[] digits = [.. Enumerable.Range(0, m * k).Select(_ => random.Next(10))];
        float[] features = Embed(digits);
        bool useDigits = s % 4 == 3; // a quarter of the streams use the JSON endpoint, checked on their logits
        var outputs = new List<float>();
        var logits = new List<float[]>();
        for (int c = 0; c < m; c++)
        {
            long t0 = Stopwatch.GetTimestamp();
            if (useDigits)
            {
                logits.Add(await SendDigits(id, digits.AsMemory(c * k, k)));
            }
            else
            {
                outputs.AddRange(await SendFeatures(id, features.AsMemory(c * k * DigitModel.Features, k * DigitModel.Features)));
            }

            latencies[s].Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
        }

        await Close(id);
        float[] expected = RunAlone(features, null).Output;
        if (!useDigits)
        {
            return Bits(outputs.ToArray()).SequenceEqual(Bits(expected));
        }

        return Enumerable.Range(0, m).All(c => Bits(logits[c]).SequenceEqual(Bits(LogitsAt(expected, ((c + 1) * k) - 1))));
    }));
    return (exact.Count(e => e), [.. latencies.SelectMany(l => l)], watch.Elapsed.TotalSeconds);
}

async Task Malformed()
{
    Console.WriteLine("== malformed chunks: refused with the reason, the stream's state untouched");
    long id = await Open();
    var random = new Random(7);
    float[] good = Embed([.. Enumerable.Range(0, 6).Select(_ => random.Next(10))]);
    Check(await Status(HttpMethod.Post, $"/streams/{id}/features", Bytes(new float[15])) == 400, "15 floats (not a whole number of 16-feature steps): 400");
    float[] nan = (float[])good.Clone();
    nan[20] = float.NaN;
    Check(await Status(HttpMethod.Post, $"/streams/{id}/features", Bytes(nan)) == 400, "a NaN feature: 400");
    Check(await Status(HttpMethod.Post, $"/streams/{id}/features", Bytes(new float[65 * 16])) == 413, "65 steps (the limit is 64): 413");
    Check(await Status(HttpMethod.Post, $"/streams/{id}/features", new byte[7]) == 400, "7 bytes: 400");
    Check(await Status(HttpMethod.Post, $"/streams/{id}/digits", Encoding.UTF8.GetBytes("[1, 12]"), "application/json") == 400, "digit 12: 400");
    Check(await Status(HttpMethod.Post, $"/streams/{id}/digits", Encoding.UTF8.GetBytes("[1, "), "application/json") == 400, "broken JSON: 400");
    Check(await Status(HttpMethod.Post, "/streams/999999999/features", Bytes(good)) == 404, "an unknown stream: 404");
    Check(await Status(HttpMethod.Post, "/streams", new byte[12]) == 400, "a state snapshot of the wrong size: 400");
    float[] output = await SendFeatures(id, good);
    Check(Bits(output).SequenceEqual(Bits(RunAlone(good, null).Output)), "after all of that the stream's next chunk is exact (its state never moved)");
    await Close(id);
}

async Task Cancelled(int n)
{
    Console.WriteLine($"== {n} submissions cancelled by their clients after 0-2 ms: each chunk ran or did not, never half");
    int ran = 0, dropped = 0;
    bool[] ok = await Task.WhenAll(Enumerable.Range(0, n).Select(async s =>
    {
        var random = new Random(1000 + s);
        long id = await Open();
        float[] first = Embed([.. Enumerable.Range(0, 8).Select(_ => random.Next(10))]);
        float[] second = Embed([.. Enumerable.Range(0, 8).Select(_ => random.Next(10))]);
        await SendFeatures(id, first);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(random.Next(0, 3)));
        try
        {
            using HttpResponseMessage r = await http.PostAsync($"/streams/{id}/features", Content(Bytes(second)), cts.Token);
        }
        catch (OperationCanceledException)
        {
        }

        await Task.Delay(50); // the server may still be finishing the request it had
        float[] state = await GetState(id);
        float[] before = RunAlone(first, null).State, after = RunAlone([.. first, .. second], null).State;
        bool isAfter = Bits(state).SequenceEqual(Bits(after));
        bool isBefore = Bits(state).SequenceEqual(Bits(before));
        Interlocked.Increment(ref isAfter ? ref ran : ref dropped);
        float[] third = Embed([1, 2, 3]);
        float[] output = await SendFeatures(id, third);
        await Close(id);
        float[] history = isAfter ? [.. first, .. second] : first;
        return (isAfter || isBefore) && Bits(output).SequenceEqual(Bits(RunAlone(third, RunAlone(history, null).State).Output));
    }));
    Check(ok.All(o => o), $"every stream's state is its state before or after the cancelled chunk ({ran} ran, {dropped} cancelled), and its next chunk is exact");
}

async Task ClosedMidChunk(int n)
{
    Console.WriteLine($"== {n} streams closed while a chunk is in flight");
    int[] codes = await Task.WhenAll(Enumerable.Range(0, n).Select(async s =>
    {
        long id = await Open();
        Task<HttpResponseMessage> send = http.PostAsync($"/streams/{id}/features", Content(Bytes(Embed([.. Enumerable.Range(0, 32).Select(i => (i + s) % 10)]))));
        await Close(id, allowMissing: true);
        using HttpResponseMessage r = await send;
        return (int)r.StatusCode;
    }));
    Check(codes.All(c => c is 200 or 404 or 410), $"each in-flight chunk completed (200: {codes.Count(c => c == 200)}) or was refused as closed (404/410: {codes.Count(c => c != 200)}); no server error");
    (int exact, _, _) = await RunLoad(8, 10, 4, seed: 2);
    Check(exact == 8, "8 new streams after that are exact");
}

async Task SilentClients()
{
    Console.WriteLine("== clients that never read their answer, and one that never finishes its upload");
    var sockets = new List<TcpClient>();
    for (int i = 0; i < 8; i++)
    {
        long id = await Open();
        var tcp = new TcpClient();
        await tcp.ConnectAsync(uri.Host, uri.Port);
        byte[] body = Bytes(Embed([.. Enumerable.Range(0, 64).Select(d => d % 10)]));
        string head = $"POST /streams/{id}/features HTTP/1.1\r\nHost: {uri.Authority}\r\nContent-Type: application/octet-stream\r\nContent-Length: {(i == 0 ? body.Length * 2 : body.Length)}\r\n\r\n";
        NetworkStream net = tcp.GetStream();
        await net.WriteAsync(Encoding.ASCII.GetBytes(head));
        await net.WriteAsync(body); // i == 0 promised twice as much and stalls; the others wait for an answer they never read
        sockets.Add(tcp);
    }

    (int exact, List<double> latencies, _) = await RunLoad(16, 20, 4, seed: 3);
    latencies.Sort();
    Check(exact == 16, string.Create(CultureInfo.InvariantCulture, $"meanwhile 16 other streams are served and exact (p99 {Pct(latencies, 0.99):F2} ms)"));
    foreach (TcpClient tcp in sockets)
    {
        tcp.Dispose();
    }
}

async Task Burst(int n)
{
    Console.WriteLine($"== a burst of {n:N0} opens, then every one closed: memory comes back");
    Stats baseline = await GetStats(true);
    long[] ids = new long[n];
    var watch = Stopwatch.StartNew();
    await Parallel.ForEachAsync(Enumerable.Range(0, n), new ParallelOptions { MaxDegreeOfParallelism = 64, CancellationToken = deadline.Token }, async (i, _) => ids[i] = await Open());
    double openSeconds = watch.Elapsed.TotalSeconds;
    Stats full = await GetStats(true);
    await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 64, CancellationToken = deadline.Token }, async (id, _) => await Close(id));
    Stats back = await GetStats(true);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  opened in {openSeconds:F1} s; managed heap {baseline.ManagedBytes / 1e6:F1} MB before, {full.ManagedBytes / 1e6:F1} MB with them open, {back.ManagedBytes / 1e6:F1} MB after closing"));
    Check(full.OpenStreams == baseline.OpenStreams + n, $"{n:N0} streams open at once ({full.OpenStreams:N0} in all)");
    Check(back.OpenStreams == baseline.OpenStreams, "all closed again");
    Check(back.ManagedBytes < baseline.ManagedBytes + 4_000_000, "the managed heap is back within 4 MB of where it was");
    (int exact, _, _) = await RunLoad(8, 10, 4, seed: 4);
    Check(exact == 8, "8 new streams after the burst are exact");
}

async Task<long> Open()
{
    using HttpResponseMessage r = await http.PostAsync("/streams", null, deadline.Token);
    r.EnsureSuccessStatusCode();
    using JsonDocument doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync(deadline.Token));
    return doc.RootElement.GetProperty("id").GetInt64();
}

async Task Close(long id, bool allowMissing = false)
{
    using HttpResponseMessage r = await http.DeleteAsync($"/streams/{id}", deadline.Token);
    if (!(allowMissing && r.StatusCode == HttpStatusCode.NotFound))
    {
        r.EnsureSuccessStatusCode();
    }
}

async Task<float[]> SendFeatures(long id, ReadOnlyMemory<float> features)
{
    using HttpResponseMessage r = await http.PostAsync($"/streams/{id}/features", Content(Bytes(features.ToArray())), deadline.Token);
    r.EnsureSuccessStatusCode();
    return MemoryMarshal.Cast<byte, float>(await r.Content.ReadAsByteArrayAsync(deadline.Token)).ToArray();
}

async Task<float[]> SendDigits(long id, ReadOnlyMemory<int> digits)
{
    using HttpResponseMessage r = await http.PostAsJsonAsync($"/streams/{id}/digits", digits.ToArray(), deadline.Token);
    r.EnsureSuccessStatusCode();
    using JsonDocument doc = JsonDocument.Parse(await r.Content.ReadAsStringAsync(deadline.Token));
    return [.. doc.RootElement.GetProperty("logits").EnumerateArray().Select(v => v.GetSingle())];
}

async Task<float[]> GetState(long id) =>
    MemoryMarshal.Cast<byte, float>(await http.GetByteArrayAsync($"/streams/{id}/state", deadline.Token)).ToArray();

async Task<int> Status(HttpMethod method, string path, byte[] body, string type = "application/octet-stream")
{
    using var request = new HttpRequestMessage(method, path) { Content = Content(body, type) };
    using HttpResponseMessage r = await http.SendAsync(request, deadline.Token);
    return (int)r.StatusCode;
}

async Task<Stats> GetStats(bool collect)
{
    using JsonDocument doc = JsonDocument.Parse(await http.GetStringAsync(collect ? "/stats?gc=1" : "/stats", deadline.Token));
    JsonElement e = doc.RootElement;
    return new Stats(
        e.GetProperty("steps").GetInt64(), e.GetProperty("chunks").GetInt64(), e.GetProperty("maxRows").GetInt32(), e.GetProperty("openStreams").GetInt32(),
        e.GetProperty("hostAllocatedBytes").GetInt64(), e.GetProperty("managedBytes").GetInt64());
}

float[] Embed(int[] digits)
{
    float[] features = new float[digits.Length * DigitModel.Features];
    model.Embed(digits, features);
    return features;
}

// The reference: the stream's whole input through the LSTM's own span Forward, alone (batch 1), from state (or zeros).
(float[] Output, float[] State) RunAlone(float[] features, float[]? state)
{
    int t = features.Length / DigitModel.Features;
    float[] output = new float[t * DigitModel.Hidden], h = new float[DigitModel.Hidden], c = new float[DigitModel.Hidden];
    model.Lstm.Forward(
        features, new SequenceShape(t, 1, DigitModel.Features), state is null ? [] : state.AsSpan(0, DigitModel.Hidden), state is null ? [] : state.AsSpan(DigitModel.Hidden), output, h, c);
    return (output, [.. h, .. c]);
}

float[] LogitsAt(float[] outputs, int step)
{
    float[] logits = new float[3];
    model.Logits(outputs.AsSpan(step * DigitModel.Hidden, DigitModel.Hidden), logits);
    return logits;
}

static int[] Bits(float[] values) => [.. values.Select(BitConverter.SingleToInt32Bits)];

static byte[] Bytes(float[] values) => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

static ByteArrayContent Content(byte[] body, string type = "application/octet-stream")
{
    var content = new ByteArrayContent(body);
    content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(type);
    return content;
}

static double Pct(List<double> sorted, double p) => sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)(p * sorted.Count))];

string Arg(string name, string fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

internal readonly record struct Stats(long Steps, long Chunks, int MaxRows, int OpenStreams, long HostAllocatedBytes, long ManagedBytes);
