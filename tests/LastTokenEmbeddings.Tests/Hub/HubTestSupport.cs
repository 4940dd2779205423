using System.Collections.Concurrent;
using System.Net.Sockets;
using LastTokenEmbeddings.Hub;
using Microsoft.Extensions.Logging;

namespace LastTokenEmbeddings.Tests.Hub;

/// <summary>Paths of the vendored fixtures the hub tests serve.</summary>
internal static class HubTestPaths
{
    /// <summary>tests/fixtures/<paramref name="name"/>.</summary>
    public static string Fixture(string name) => Path.Combine(Path.GetDirectoryName(TestPaths.FixtureDirectory)!, name);
}

/// <summary>A fresh hub cache directory, deleted afterwards.</summary>
internal sealed class TempCache : IDisposable
{
    public TempCache() => Directory.CreateDirectory(Root);

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "lte-hub-tests", Guid.NewGuid().ToString("N"));

    public string ModelFolder(string modelId) => Path.Combine(Root, "models--" + modelId.Replace("/", "--", StringComparison.Ordinal));

    public string Blobs(string modelId) => Path.Combine(ModelFolder(modelId), "blobs");

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Keeps every log line (message and exception) to check what was said, and that no token was.</summary>
internal sealed class CapturingLogger : ILogger
{
    public ConcurrentQueue<(LogLevel Level, string Text)> Entries { get; } = new();

    public IEnumerable<string> Warnings => Entries.Where(e => e.Level == LogLevel.Warning).Select(e => e.Text);

    public string AllText => string.Join("\n", Entries.Select(e => e.Text));

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var text = formatter(state, exception) + (exception is null ? "" : "\n" + exception);
        // Structured values too: a sink that stores them must not receive the token either.
        if (state is IEnumerable<KeyValuePair<string, object?>> values)
            text += "\n" + string.Join("; ", values.Select(v => $"{v.Key}={v.Value}"));
        Entries.Enqueue((logLevel, text));
    }
}

/// <summary>A network that is down: every request fails as a refused connection would. Counts the attempts.</summary>
internal sealed class UnreachableNetworkHandler : HttpMessageHandler
{
    private int _requests;

    public int Requests => _requests;

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _requests);
        throw new HttpRequestException($"Connection refused ({request.RequestUri!.Authority})", new SocketException((int)SocketError.ConnectionRefused));
    }
}

/// <summary>An IProgress that runs its callback synchronously on the reporting thread (unlike Progress&lt;T&gt;).</summary>
internal sealed class SynchronousProgress(Action<HubDownloadProgress>? onReport = null) : IProgress<HubDownloadProgress>
{
    public ConcurrentQueue<HubDownloadProgress> Reports { get; } = new();

    public void Report(HubDownloadProgress value)
    {
        Reports.Enqueue(value);
        onReport?.Invoke(value);
    }
}

internal static class HubTestOptions
{
    /// <summary>Options for <paramref name="hub"/> and <paramref name="cache"/>, with retries that do not wait.</summary>
    public static HubOptions For(FakeHub hub, TempCache cache, ILogger? logger = null, string? token = null) => new()
    {
        Endpoint = hub.Endpoint.ToString().TrimEnd('/'),
        CacheDirectory = cache.Root,
        Token = token,
        HttpMessageHandler = hub.Handler,
        RetryDelay = TimeSpan.FromMilliseconds(1),
        MaxRetryDelay = TimeSpan.FromMilliseconds(1),
        MetadataTimeout = TimeSpan.FromSeconds(60),
        DownloadTimeout = TimeSpan.FromSeconds(60),
        Logger = logger,
    };

    /// <summary>The exception and all its inner exceptions, as a log or a console would show them.</summary>
    public static string FullText(Exception e) => e + "\n" + e.Message;
}
