using System.CommandLine;
using System.Net;
using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Hub;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace LastTokenEmbeddings.Server;

/// <summary>Parses the command line, loads the model, serves until SIGTERM/Ctrl+C, then drains accepted requests.</summary>
internal static partial class ServerApp
{
    /// <summary>The line printed once the server listens (tests and scripts wait for it).</summary>
    public const string ListeningPrefix = "listening on ";

    /// <returns>0 after a clean shutdown, 1 when the model or options are bad, 2 for a bad command line.</returns>
    public static async Task<int> RunAsync(string[] args)
    {
        var commandLine = new ServerCommandLine();
        var parsed = commandLine.Root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parsed.Errors.Count == 0 && parsed.Action is not null) // --help, --version
            return await parsed.InvokeAsync().ConfigureAwait(false);
        var problems = commandLine.Problems(parsed);
        if (problems.Count > 0)
        {
            foreach (var problem in problems)
                await Console.Error.WriteLineAsync($"lte-server: error: {problem} (see --help)").ConfigureAwait(false);
            return 2;
        }

        var settings = commandLine.Settings(parsed);
        await using var app = Build(settings);
        try
        {
            await app.StartAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // Whatever stops the start (bad model, options, port in use, ...) is reported in one line, not a stack trace.
            await Console.Error.WriteLineAsync("lte-server: error: " + e.Message).ConfigureAwait(false);
            return 1;
        }
        foreach (var address in app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [])
            Console.WriteLine(ListeningPrefix + address);
        await app.WaitForShutdownAsync().ConfigureAwait(false);
        return 0;
    }

    /// <summary>The web application for <paramref name="settings"/>; the model loads when it starts.</summary>
    public static WebApplication Build(ServerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        if (settings.JsonLogs)
            builder.Logging.AddJsonConsole(o => o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ");
        else
            builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        // The endpoints log one structured line per request; the hosting layer's own request logs would repeat it.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

        var address = settings.Host switch
        {
            "localhost" => IPAddress.Loopback,
            "*" or "+" => IPAddress.Any,
            var text => IPAddress.TryParse(text, out var parsed) ? parsed : throw new ArgumentException($"--host '{text}' is not an IP address or localhost."),
        };
        // --host/--port decide the endpoint; ASPNETCORE_URLS / ASPNETCORE_HTTP_PORTS (set in .NET container images) do not.
        builder.WebHost.UseSetting(WebHostDefaults.ServerUrlsKey, string.Empty);
        builder.WebHost.UseSetting(WebHostDefaults.HttpPortsKey, string.Empty);
        builder.WebHost.UseSetting(WebHostDefaults.HttpsPortsKey, string.Empty);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(address, settings.Port);
            kestrel.Limits.MaxRequestBodySize = settings.Server.MaxRequestBodyBytes;
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = settings.ShutdownTimeout);

        // Created (and so loaded) while the host starts; the container disposes it after the last request drained.
        builder.Services.AddSingleton<IEmbeddingModel>(services => LoadModel(settings, services.GetRequiredService<ILoggerFactory>().CreateLogger("LastTokenEmbeddings.Server")));
        if (settings.Reranker is { } rerankerModel)
            builder.Services.AddSingleton<LastTokenEmbeddings.Reranking.IReranker>(_ => LastTokenEmbeddings.Reranking.Reranker.LoadAsync(rerankerModel, loadOptions: settings.RerankerLoad).GetAwaiter().GetResult());
        builder.Services.AddEmbeddingServer(settings.ApplyTo);

        var app = builder.Build();
        app.MapEmbeddings();
        return app;
    }

    private static EmbeddingModel LoadModel(ServerSettings settings, ILogger logger)
    {
        LogLoading(logger, settings.Model, ComputeDTypeNames.Name(settings.Load.DType));
        var started = TimeProvider.System.GetTimestamp();
        var progress = new Progress<HubDownloadProgress>(p =>
        {
            if (p.IsComplete)
                LogDownloaded(logger, p.ModelId, p.FileName, p.BytesDownloaded);
        });
        var model = EmbeddingModel.LoadAsync(settings.Model, settings.Embedding, settings.Load, progress).GetAwaiter().GetResult();
        LogLoaded(logger, model.ModelId, model.Config.Family.ToString(), model.Checkpoint.ComputeDType, model.Dimensions, model.MaxTokens,
            model.Pooling.Name, (long)TimeProvider.System.GetElapsedTime(started).TotalMilliseconds);
        return model;
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "Loading {Model} (dtype {DType})")]
    private static partial void LogLoading(ILogger logger, string model, string dtype);

    [LoggerMessage(EventId = 11, Level = LogLevel.Information, Message = "Downloaded {ModelId} {FileName} ({Bytes} bytes)")]
    private static partial void LogDownloaded(ILogger logger, string modelId, string fileName, long bytes);

    [LoggerMessage(EventId = 12, Level = LogLevel.Information,
        Message = "Loaded {ModelId}: {Family}, {DType}, {Dimensions} dimensions, max {MaxTokens} tokens, {Pooling} pooling, in {ElapsedMs} ms")]
    private static partial void LogLoaded(ILogger logger, string modelId, string family, string dtype, int dimensions, int maxTokens, string pooling, long elapsedMs);
}
