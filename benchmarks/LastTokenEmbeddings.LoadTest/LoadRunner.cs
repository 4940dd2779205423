using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using LastTokenEmbeddings.Embeddings;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LastTokenEmbeddings.LoadTest;

/// <summary>The outcome of one run: one mode (HTTP with batching on or off, or the library alone), one number of clients.</summary>
internal sealed record RunResult(string Mode, int Clients, int Requests, int Failures, double Seconds, double P50Ms, double P99Ms)
{
    public double RequestsPerSecond => Requests / Seconds;
}

/// <summary>
/// Starts the embedding server on a loopback port over a model and drives it with closed-loop clients: each client
/// sends a request, waits for its response, and sends the next, until the run's time or request cap is reached.
/// </summary>
internal static class LoadRunner
{
    private static readonly string[] Words =
    [
        "llama", "graphics", "processor", "vector", "search", "query", "document", "embedding", "server", "latency",
        "batch", "token", "decoder", "mistral", "cache", "memory", "thread", "socket", "kernel", "matrix",
    ];

    /// <summary>Runs every client count under one batching mode against one server.</summary>
    public static async Task<IReadOnlyList<RunResult>> RunModeAsync(IEmbeddingModel model, bool batching, LoadTestSettings settings)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.AddEmbeddingServer(model, o =>
        {
            o.CrossRequestBatching = batching;
            o.MaxConcurrentRequests = Math.Max(512, settings.Clients.Max() * 2); // measure queueing, not refusals
            o.AutoTruncate = true;
        });
        await using var app = builder.Build();
        app.MapEmbeddings();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue }) { BaseAddress = new Uri(address) };

        var results = new List<RunResult>();
        foreach (var clients in settings.Clients)
        {
            await DriveAsync(client, clients, settings, TimeSpan.FromSeconds(settings.WarmupSeconds), seed: -1);
            var run = await DriveAsync(client, clients, settings, TimeSpan.FromSeconds(settings.Seconds), seed: clients);
            results.Add(run with { Mode = batching ? "HTTP, batching on" : "HTTP, batching off" });
        }
        await app.StopAsync();
        return results;
    }

    /// <summary>
    /// The same closed loop calling the model directly (no HTTP, no JSON): what the forward passes alone allow, so
    /// the HTTP runs can be read against it.
    /// </summary>
    public static async Task<IReadOnlyList<RunResult>> RunLibraryAsync(IEmbeddingModel model, LoadTestSettings settings)
    {
        async Task<bool> Send(string[] texts)
        {
            await model.EmbedAsync(texts);
            return true;
        }
        var results = new List<RunResult>();
        foreach (var clients in settings.Clients)
        {
            await DriveAsync(Send, clients, settings, TimeSpan.FromSeconds(settings.WarmupSeconds), seed: -1);
            var run = await DriveAsync(Send, clients, settings, TimeSpan.FromSeconds(settings.Seconds), seed: clients);
            results.Add(run with { Mode = "library, no HTTP" });
        }
        return results;
    }

    private static Task<RunResult> DriveAsync(HttpClient client, int clients, LoadTestSettings settings, TimeSpan duration, int seed)
    {
        var path = settings.Endpoint == "openai" ? "/v1/embeddings" : "/embed";
        var field = settings.Endpoint == "openai" ? "input" : "inputs";
        async Task<bool> Send(string[] texts)
        {
            var body = JsonSerializer.Serialize(new Dictionary<string, object> { [field] = texts });
            using var response = await client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
            await response.Content.ReadAsByteArrayAsync();
            return response.IsSuccessStatusCode;
        }
        return DriveAsync(Send, clients, settings, duration, seed);
    }

    private static async Task<RunResult> DriveAsync(Func<string[], Task<bool>> send, int clients, LoadTestSettings settings, TimeSpan duration, int seed)
    {
        var latencies = new List<double>[clients];
        var failures = 0;
        var sent = 0;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async c =>
        {
            var mine = latencies[c] = [];
            while (watch.Elapsed < duration)
            {
                var n = Interlocked.Increment(ref sent);
                if (n > settings.MaxRequests)
                    break;
                var texts = Enumerable.Range(0, settings.TextsPerRequest).Select(t => Text(seed, n, t, settings.Words)).ToArray();
                var started = Stopwatch.GetTimestamp();
                if (await send(texts))
                    mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                else
                    Interlocked.Increment(ref failures);
            }
        }));
        var seconds = watch.Elapsed.TotalSeconds;
        var all = latencies.SelectMany(l => l).Order().ToArray();
        return new RunResult("", clients, all.Length, failures, seconds, Percentile(all, 0.50), Percentile(all, 0.99));
    }

    /// <summary>A distinct, deterministic text for each request.</summary>
    private static string Text(int seed, int request, int index, int words)
    {
        var builder = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"request {seed}.{request}.{index}:"));
        for (var w = 0; w < words; w++)
            builder.Append(' ').Append(Words[(request * 7 + index * 13 + w * 3 + seed) % Words.Length]);
        return builder.ToString();
    }

    /// <summary>Nearest-rank percentile of sorted values.</summary>
    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
}
