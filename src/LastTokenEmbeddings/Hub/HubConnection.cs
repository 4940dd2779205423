using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Reflection;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace LastTokenEmbeddings.Hub;

/// <summary>A model's commit and file list at one revision, from <c>GET /api/models/{id}/revision/{revision}</c>.</summary>
internal sealed record RevisionInfo(string Commit, IReadOnlySet<string> Files);

/// <summary>What a <c>HEAD /{id}/resolve/{commit}/{file}</c> tells: the blob name, its size and where to GET it.</summary>
internal sealed record FileMetadata(string ETag, long Size, Uri Location);

/// <summary>
/// The Hub's HTTP protocol for one model, as huggingface_hub speaks it: redirects followed here (so the token goes
/// to the endpoint's own origin only, never to the CDN a file redirects to), bounded exponential-backoff retries on
/// dropped connections, timeouts and HTTP 408/429/5xx, and errors mapped from the Hub's <c>X-Error-Code</c> header.
/// </summary>
internal sealed class HubConnection : IDisposable
{
    private const int MaxRedirects = 10;
    private const long MaxRevisionInfoLength = 256L * 1024 * 1024;

    // One pool for the process: handlers are expensive, HttpClients over them are not.
    private static readonly Lazy<SocketsHttpHandler> SharedHandler = new(() => new SocketsHttpHandler
    {
        AllowAutoRedirect = false, // followed in SendAsync, which decides where the token may go
        AutomaticDecompression = DecompressionMethods.None, // sizes, ranges and hashes are of the stored bytes
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
    });

    private static readonly ProductInfoHeaderValue UserAgent = new(
        "LastTokenEmbeddings",
        typeof(HubConnection).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0");

    private readonly HttpClient _client;
    private readonly HubOptions _options;
    private readonly string _endpoint;
    private readonly string _endpointOrigin;

    public HubConnection(string modelId, HubOptions options, ILogger logger)
    {
        ModelId = modelId;
        _options = options;
        Logger = logger;
        _endpoint = options.Endpoint.TrimEnd('/');
        _endpointOrigin = new Uri(_endpoint).GetLeftPart(UriPartial.Authority);
        _client = new HttpClient(options.HttpMessageHandler ?? SharedHandler.Value, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };
    }

    public string ModelId { get; }

    public string Revision => _options.Revision;

    public string Endpoint => _endpoint;

    public HubOptions Options => _options;

    public ILogger Logger { get; }

    public enum Redirects
    {
        /// <summary>Follow every redirect (downloads, API calls).</summary>
        Follow,

        /// <summary>Follow redirects within the Hub (a renamed repository), and return one to another host (the CDN) as the answer.</summary>
        RelativeOnly,
    }

    /// <summary>Removes the token from a text bound for a message or a log (a server may echo what it was sent).</summary>
    public string Redact(string text) =>
        _options.Token is { Length: > 0 } token ? text.Replace(token, "***", StringComparison.Ordinal) : text;

    public Uri RevisionInfoUri() => new($"{_endpoint}/api/models/{ModelId}/revision/{Uri.EscapeDataString(Revision)}");

    public Uri ResolveUri(string commit, string fileName) =>
        new($"{_endpoint}/{ModelId}/resolve/{Uri.EscapeDataString(commit)}/{string.Join('/', fileName.Split('/').Select(Uri.EscapeDataString))}");

    /// <summary>The commit <see cref="Revision"/> points to, and the repository's files there.</summary>
    public async Task<RevisionInfo> GetRevisionInfoAsync(int maxRetries, CancellationToken cancellationToken)
    {
        var uri = RevisionInfoUri();
        using var response = await SendAsync(HttpMethod.Get, uri, null, Redirects.Follow, maxRetries, _options.MetadataTimeout, null, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        if (response.Content.Headers.ContentLength > MaxRevisionInfoLength)
            throw Protocol(null, $"the answer to {Display(uri)} is {response.Content.Headers.ContentLength} bytes");
        try
        {
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            using var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64 });
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("sha", out var sha) || sha.ValueKind != JsonValueKind.String || !HubCache.IsCommitHash(sha.GetString()!))
                throw Protocol(null, $"the answer to {Display(uri)} has no 40-character commit \"sha\"");
            if (!root.TryGetProperty("siblings", out var siblings) || siblings.ValueKind != JsonValueKind.Array)
                throw Protocol(null, $"the answer to {Display(uri)} has no \"siblings\" list");
            var files = new HashSet<string>(StringComparer.Ordinal);
            foreach (var sibling in siblings.EnumerateArray())
            {
                if (sibling.ValueKind == JsonValueKind.Object && sibling.TryGetProperty("rfilename", out var name) && name.ValueKind == JsonValueKind.String)
                    files.Add(name.GetString()!);
            }
            return new RevisionInfo(sha.GetString()!, files);
        }
        catch (JsonException e)
        {
            throw Protocol(null, $"the answer to {Display(uri)} is not JSON ({e.Message})", e);
        }
        catch (Exception e) when (IsNetworkFailure(e, cancellationToken))
        {
            throw NetworkFailure(e, null);
        }
    }

    /// <summary>
    /// The HEAD request huggingface_hub makes before a download: the blob name (<c>X-Linked-Etag</c>, else
    /// <c>ETag</c>), the size (<c>X-Linked-Size</c>, else <c>Content-Length</c>) and the URL to GET (the redirect's
    /// <c>Location</c> when the file lives on a CDN). The answer must come from <paramref name="commit"/>.
    /// </summary>
    public async Task<FileMetadata> GetFileMetadataAsync(string commit, string fileName, CancellationToken cancellationToken)
    {
        var uri = ResolveUri(commit, fileName);
        using var response = await SendAsync(HttpMethod.Head, uri, fileName, Redirects.RelativeOnly, _options.MaxRetries, _options.MetadataTimeout, null, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        var isRedirect = IsRedirect(response.StatusCode);
        var repoCommit = Header(response, "X-Repo-Commit");
        if (repoCommit is null)
            throw Protocol(fileName, $"HEAD {Display(uri)} has no X-Repo-Commit header: the endpoint does not look like a Hugging Face Hub (check HF_ENDPOINT, proxy and firewall)");
        if (!string.Equals(repoCommit, commit, StringComparison.Ordinal))
            throw Protocol(fileName, $"HEAD {Display(uri)} answered for commit {repoCommit}, not {commit}");
        var etag = NormalizeETag(Header(response, "X-Linked-Etag") ?? Header(response, "ETag"));
        if (etag is null)
            throw Protocol(fileName, $"HEAD {Display(uri)} has no ETag: the file's content cannot be identified");
        if (!IsSafeBlobName(etag))
            throw Protocol(fileName, $"HEAD {Display(uri)} has an ETag that is not a file name ('{Redact(etag)}')");
        var sizeText = Header(response, "X-Linked-Size") ?? (isRedirect ? null : response.Content.Headers.ContentLength?.ToString(CultureInfo.InvariantCulture));
        if (!long.TryParse(sizeText, NumberStyles.None, CultureInfo.InvariantCulture, out var size))
            throw Protocol(fileName, $"HEAD {Display(uri)} has no X-Linked-Size or Content-Length");
        var location = isRedirect && response.Headers.Location is { } target ? new Uri(response.RequestMessage!.RequestUri!, target) : response.RequestMessage!.RequestUri!;
        return new FileMetadata(etag, size, location);
    }

    /// <summary>
    /// Sends a request, following redirects and retrying transient failures up to <paramref name="maxRetries"/> times.
    /// Returns a 2xx answer, or with <see cref="Redirects.RelativeOnly"/> a redirect to another host; anything else
    /// becomes a <see cref="HubException"/> (kind <see cref="HubErrorKind.NetworkError"/> for transient failures).
    /// </summary>
    public async Task<HttpResponseMessage> SendAsync(
        HttpMethod method, Uri uri, string? fileName, Redirects redirects, int maxRetries, TimeSpan timeout,
        Action<HttpRequestMessage>? configure, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            HubException failure;
            TimeSpan? retryAfter = null;
            try
            {
                var response = await SendFollowingRedirectsAsync(method, uri, redirects, timeout, configure, completion, cancellationToken).ConfigureAwait(false);
                if (!IsRetryable(response.StatusCode))
                {
                    if (response.IsSuccessStatusCode || (redirects == Redirects.RelativeOnly && IsRedirect(response.StatusCode)))
                        return response;
                    using (response)
                        throw ErrorFor(response, fileName);
                }
                using (response)
                {
                    failure = ErrorFor(response, fileName);
                    retryAfter = response.Headers.RetryAfter?.Delta;
                }
            }
            catch (Exception e) when (IsNetworkFailure(e, cancellationToken))
            {
                failure = NetworkFailure(e, fileName);
            }
            if (attempt >= maxRetries)
                throw failure;
            var delay = RetryDelay(attempt, retryAfter);
            HubLog.Retrying(Logger, method.Method, Display(uri), failure.Message, attempt + 1, maxRetries, delay.TotalSeconds);
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The wait before retry <paramref name="retryIndex"/> (0-based): doubling from RetryDelay up to MaxRetryDelay, longer if the Hub asks (Retry-After, at most 60 s).</summary>
    public TimeSpan RetryDelay(int retryIndex, TimeSpan? retryAfter = null)
    {
        var backoff = TimeSpan.FromTicks((long)Math.Min(_options.MaxRetryDelay.Ticks, _options.RetryDelay.Ticks * Math.Pow(2, Math.Min(retryIndex, 30))));
        return retryAfter is { } asked && asked > backoff ? TimeSpan.FromTicks(Math.Min(asked.Ticks, TimeSpan.FromSeconds(60).Ticks)) : backoff;
    }

    private async Task<HttpResponseMessage> SendFollowingRedirectsAsync(
        HttpMethod method, Uri uri, Redirects redirects, TimeSpan timeout, Action<HttpRequestMessage>? configure,
        HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        var current = uri;
        for (var hop = 0; hop <= MaxRedirects; hop++)
        {
            using var request = new HttpRequestMessage(method, current);
            request.Headers.UserAgent.Add(UserAgent);
            // As huggingface_hub's HEAD: the real size, and byte ranges of the stored file, not of a compressed stream.
            request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("identity"));
            // The token goes to the Hub's own origin only: a redirect to a CDN carries its own signed URL.
            if (_options.Token is { Length: > 0 } token && string.Equals(current.GetLeftPart(UriPartial.Authority), _endpointOrigin, StringComparison.OrdinalIgnoreCase))
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            configure?.Invoke(request);

            using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeoutSource.CancelAfter(timeout);
            HttpResponseMessage response;
            try
            {
                response = await _client.SendAsync(request, completion, timeoutSource.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"no answer within {timeout.TotalSeconds:0.###} s", e);
            }

            if (!IsRedirect(response.StatusCode) || response.Headers.Location is not { } location)
                return response;
            // huggingface_hub's HEAD follows only relative redirects (a renamed repository) and returns one to another host (the CDN).
            if (redirects == Redirects.RelativeOnly && location.IsAbsoluteUri)
                return response;
            response.Dispose();
            current = new Uri(current, location);
            if (response.StatusCode == HttpStatusCode.SeeOther)
                method = method == HttpMethod.Head ? HttpMethod.Head : HttpMethod.Get;
        }
        throw Protocol(null, $"more than {MaxRedirects} redirects from {Display(uri)}");
    }

    /// <summary>The exception for an HTTP error answer, from its status and the Hub's <c>X-Error-Code</c> (huggingface_hub's <c>hf_raise_for_status</c>).</summary>
    public HubException ErrorFor(HttpResponseMessage response, string? fileName)
    {
        var status = (int)response.StatusCode;
        var code = Header(response, "X-Error-Code");
        var serverMessage = Header(response, "X-Error-Message") is { } text ? Redact(text.Length > 300 ? text[..300] + "…" : text) : null;
        var said = $"HTTP {status}{(code is null ? "" : " " + code)}{(serverMessage is null ? "" : ": " + serverMessage)}";
        var what = fileName is null ? $"{ModelId} at revision '{Revision}'" : $"'{fileName}' of {ModelId} at revision '{Revision}'";
        var tokenAdvice = _options.Token is null
            ? "No token was sent: set HF_TOKEN (or run `hf auth login`) to a token with access."
            : "The token sent has no access to it: check that HF_TOKEN (or the token file) holds a token with read access to this model, and that you accepted its conditions on its page.";
        var modelPage = $"{_endpoint}/{ModelId}";

        (HubErrorKind Kind, string Message) error = code switch
        {
            "RevisionNotFound" => (HubErrorKind.RevisionNotFound, $"Revision '{Revision}' of {ModelId} was not found on {_endpoint} ({said}): check the branch, tag or commit hash."),
            "EntryNotFound" => (HubErrorKind.FileNotFound, $"File '{fileName}' was not found in {ModelId} at revision '{Revision}' ({said})."),
            "GatedRepo" => (HubErrorKind.AccessDenied, $"{ModelId} is a gated model ({said}): request access on {modelPage}. {tokenAdvice}"),
            "RepoNotFound" => (HubErrorKind.RepositoryNotFound, $"Model {ModelId} was not found on {_endpoint} ({said}). Check the id; if the model is private or gated: {tokenAdvice}"),
            _ => status switch
            {
                401 when serverMessage == "Invalid credentials in Authorization header" =>
                    (HubErrorKind.AccessDenied, $"The Hub rejected the token for {what} ({said}): set HF_TOKEN (or the token file) to a valid token."),
                401 => (HubErrorKind.AccessDenied, $"{what} requires authentication ({said}): the model is gated or private. {tokenAdvice}"),
                403 => (HubErrorKind.AccessDenied, $"Access to {what} is forbidden ({said}): the model is gated or private. {tokenAdvice} Model page: {modelPage}"),
                404 when fileName is not null => (HubErrorKind.FileNotFound, $"File '{fileName}' was not found in {ModelId} at revision '{Revision}' ({said})."),
                404 => (HubErrorKind.RepositoryNotFound, $"{what} was not found on {_endpoint} ({said}). Check the id and revision; if the model is private or gated: {tokenAdvice}"),
                _ when IsRetryable(response.StatusCode) => (HubErrorKind.NetworkError, $"The Hub could not serve {what} ({said})."),
                _ => (HubErrorKind.ProtocolError, $"The Hub answered {said} for {what}."),
            },
        };
        return new HubException(error.Kind, ModelId, Revision, Redact(error.Message), fileName, response.StatusCode);
    }

    /// <summary>The exception for a request that got no answer (connection refused, DNS, timeout, dropped connection).</summary>
    public HubException NetworkFailure(Exception error, string? fileName)
    {
        if (error is HubException hub)
            return hub;
        var what = fileName is null ? $"{ModelId} at revision '{Revision}'" : $"'{fileName}' of {ModelId} at revision '{Revision}'";
        return new HubException(HubErrorKind.NetworkError, ModelId, Revision, Redact($"Could not reach {_endpoint} for {what}: {Describe(error)}."), fileName, innerException: error);
    }

    public HubException Protocol(string? fileName, string problem, Exception? innerException = null) =>
        new(HubErrorKind.ProtocolError, ModelId, Revision,
            Redact($"Unexpected answer from {_endpoint} for {(fileName is null ? "" : $"'{fileName}' of ")}{ModelId} at revision '{Revision}': {problem}."),
            fileName, innerException: innerException);

    /// <summary>A failure of the network rather than of the Hub's answer: retried, then possibly covered by the cache.</summary>
    public static bool IsNetworkFailure(Exception e, CancellationToken cancellationToken) => e switch
    {
        HubException hub => hub.IsTransient,
        HttpRequestException or IOException or TimeoutException => true,
        OperationCanceledException => !cancellationToken.IsCancellationRequested, // a timeout, not the caller
        _ => false,
    };

    /// <summary>An error's message and its causes', e.g. "An error occurred while sending the request. (Connection refused (127.0.0.1:9))".</summary>
    public string Describe(Exception error)
    {
        var parts = new List<string>();
        for (var e = error; e is not null && parts.Count < 4; e = e.InnerException)
        {
            var message = e.Message.TrimEnd('.');
            if (!parts.Any(part => part.Contains(message, StringComparison.Ordinal)))
                parts.Add(message);
        }
        return Redact(string.Join(": ", parts));
    }

    /// <summary>A URL for messages and logs: without its query, which carries the CDN's signature.</summary>
    public static string Display(Uri uri) => uri.GetLeftPart(UriPartial.Path);

    private static bool IsRetryable(HttpStatusCode status) =>
        status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)status is >= 500 and <= 599;

    private static bool IsRedirect(HttpStatusCode status) => (int)status is >= 300 and <= 399 and not 304;

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
            ? values.FirstOrDefault()
            : null;

    // huggingface_hub's _normalize_etag: W/"x" and "x" both become x.
    private static string? NormalizeETag(string? etag)
    {
        if (etag is null)
            return null;
        var value = etag.Trim();
        if (value.StartsWith("W/", StringComparison.Ordinal))
            value = value[2..];
        value = value.Trim('"');
        return value.Length > 0 ? value : null;
    }

    private static bool IsSafeBlobName(string etag) =>
        etag.Length <= 200 && etag.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'); // no '.': no clash with .incomplete or .lock names

    public void Dispose() => _client.Dispose();
}
