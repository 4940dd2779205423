using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using LastTokenEmbeddings.AspNetCore.Serving;
using LastTokenEmbeddings.Tokenization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LastTokenEmbeddings.AspNetCore.Http;

/// <summary>What one endpoint is: its name in metrics and logs, its error dialect, and whether it needs the API key.</summary>
/// <param name="Name">Metric label and log field, e.g. "embed".</param>
/// <param name="Dialect">How its errors are written.</param>
/// <param name="RequiresApiKey">Whether <see cref="EmbeddingServerOptions.ApiKey"/> applies to it.</param>
/// <param name="Probe">A probe route (health): its successes are logged at debug level, as probes come every few seconds.</param>
internal sealed record EndpointSpec(string Name, ApiDialect Dialect, bool RequiresApiKey = true, bool Probe = false);

/// <summary>What a handler reports about its request for metrics and logs (never the inputs themselves).</summary>
internal sealed class RequestTrace
{
    /// <summary>When the request started (<see cref="Stopwatch.GetTimestamp"/>).</summary>
    public long StartTimestamp { get; } = Stopwatch.GetTimestamp();

    /// <summary>Inputs in the request.</summary>
    public int Inputs { get; set; }

    /// <summary>Tokens the decoder saw.</summary>
    public long Tokens { get; set; }

    /// <summary>Milliseconds since the request started.</summary>
    public long ElapsedMilliseconds => (long)Stopwatch.GetElapsedTime(StartTimestamp).TotalMilliseconds;

    /// <summary>Sets TEI's compute headers on the response.</summary>
    public void WriteComputeHeaders(HttpResponse response, long characters)
    {
        response.Headers["x-compute-characters"] = characters.ToString(CultureInfo.InvariantCulture);
        response.Headers["x-compute-tokens"] = Tokens.ToString(CultureInfo.InvariantCulture);
        response.Headers["x-total-time"] = ElapsedMilliseconds.ToString(CultureInfo.InvariantCulture);
    }
}

/// <summary>
/// The pipeline every endpoint runs in: API key, admission, error mapping, metrics and logging. New endpoints (a
/// TEI <c>/rerank</c>, say) get all of it by handing their handler to <see cref="RunAsync"/>.
/// </summary>
internal sealed partial class EndpointRunner
{
    /// <summary>The status recorded for requests whose client went away (nginx's convention; never sent).</summary>
    public const int ClientClosedRequest = 499;

    private readonly EmbeddingServerOptions options;
    private readonly ServerMetrics metrics;
    private readonly AdmissionGate gate;
    private readonly ILogger<EndpointRunner> logger;
    private readonly byte[]? expectedAuthorizationHash;

    public EndpointRunner(IOptions<EmbeddingServerOptions> options, ServerMetrics metrics, AdmissionGate gate, ILogger<EndpointRunner> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.options = options.Value;
        this.metrics = metrics;
        this.gate = gate;
        this.logger = logger;
        if (!string.IsNullOrEmpty(this.options.ApiKey))
            expectedAuthorizationHash = SHA256.HashData(Encoding.UTF8.GetBytes("Bearer " + this.options.ApiKey));
    }

    /// <summary>The server's options.</summary>
    public EmbeddingServerOptions Options => options;

    /// <summary>Runs <paramref name="handler"/>, which writes the success response; errors become the dialect's error response.</summary>
    public async Task RunAsync(HttpContext context, EndpointSpec spec, Func<HttpContext, RequestTrace, Task> handler)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(handler);
        var trace = new RequestTrace();
        int status;
        try
        {
            if (spec.RequiresApiKey)
                CheckApiKey(context.Request);
            await handler(context, trace).ConfigureAwait(false);
            status = context.Response.StatusCode;
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            status = ClientClosedRequest; // the client is gone: its queued texts were dropped, nothing to write
        }
        catch (Exception e)
        {
            var error = ToApiError(e);
            if (error.Kind == ApiErrorKind.Backend)
                LogBackendFailure(logger, e, spec.Name);
            status = spec.Dialect.StatusCode(error.Kind);
            if (context.Response.HasStarted)
                context.Abort();
            else
                await spec.Dialect.WriteAsync(context.Response, error, options.RetryAfterSeconds).ConfigureAwait(false);
        }
        var statusLabel = status.ToString(CultureInfo.InvariantCulture);
        metrics.Requests.WithLabels(spec.Name, statusLabel).Inc();
        metrics.Duration.WithLabels(spec.Name).Observe(Stopwatch.GetElapsedTime(trace.StartTimestamp).TotalSeconds);
        if (spec.Probe && status < 400)
            LogProbe(logger, spec.Name, status, trace.ElapsedMilliseconds);
        else
            LogRequest(logger, spec.Name, status, trace.Inputs, trace.Tokens, trace.ElapsedMilliseconds);
    }

    /// <summary>Admits the request past the concurrency limit, or refuses it at once with 429.</summary>
    public AdmissionGate.Lease Admit() =>
        gate.TryEnter(out var lease) ? lease : throw new ApiException(ApiErrorKind.Overloaded, "Model is overloaded");

    /// <summary>Records an embedding request's size once it is known.</summary>
    public void RecordEmbedding(RequestTrace trace, int inputs, long tokens)
    {
        ArgumentNullException.ThrowIfNull(trace);
        trace.Inputs = inputs;
        trace.Tokens = tokens;
        metrics.RequestInputs.Observe(inputs);
        metrics.BatchTokens.Observe(tokens);
        metrics.Tokens.Inc(tokens);
    }

    private void CheckApiKey(HttpRequest request)
    {
        if (expectedAuthorizationHash is null)
            return;
        var given = request.Headers.Authorization.ToString();
        // Hashing first makes the comparison constant-time in the key's length as well as its content.
        var givenHash = SHA256.HashData(Encoding.UTF8.GetBytes(given));
        if (!CryptographicOperations.FixedTimeEquals(givenHash, expectedAuthorizationHash))
            throw new ApiException(ApiErrorKind.Unauthorized, "Missing or invalid API key: send `Authorization: Bearer <key>`.");
    }

    private static ApiException ToApiError(Exception e) => e switch
    {
        ApiException api => api,
        InputTooLongException tooLong => ApiException.InputTooLong(tooLong.TokenCount, tooLong.MaxTokens),
        ObjectDisposedException => new ApiException(ApiErrorKind.Unavailable, "The model is shutting down."),
        // The library validates what the request carried (token ids, prompt names, ...) with argument exceptions.
        ArgumentException argument => new ApiException(ApiErrorKind.Validation, ClientMessage(argument)),
        BadHttpRequestException bad => new ApiException(
            bad.StatusCode == StatusCodes.Status413PayloadTooLarge ? ApiErrorKind.PayloadTooLarge : ApiErrorKind.InvalidJson, "The request body could not be read."),
        _ => new ApiException(ApiErrorKind.Backend, "Inference failed"),
    };

    /// <summary>An argument exception's message without .NET's " (Parameter 'x')" and "Actual value was" tails.</summary>
    private static string ClientMessage(ArgumentException e)
    {
        var message = e.Message.Split('\n', 2)[0].TrimEnd('\r');
        var tail = e.ParamName is null ? null : $" (Parameter '{e.ParamName}')";
        return tail is not null && message.EndsWith(tail, StringComparison.Ordinal) ? message[..^tail.Length] : message;
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "{Endpoint} {Status}: {Inputs} inputs, {Tokens} tokens in {ElapsedMs} ms")]
    private static partial void LogRequest(ILogger logger, string endpoint, int status, int inputs, long tokens, long elapsedMs);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "{Endpoint} {Status} in {ElapsedMs} ms")]
    private static partial void LogProbe(ILogger logger, string endpoint, int status, long elapsedMs);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "{Endpoint}: the model failed on a well-formed request")]
    private static partial void LogBackendFailure(ILogger logger, Exception exception, string endpoint);
}
