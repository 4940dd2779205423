using System.Globalization;
using Microsoft.Extensions.Logging;

namespace LastTokenEmbeddings.Hub;

/// <summary>
/// How <see cref="HuggingFaceHub"/> reaches the Hugging Face Hub and where it caches models.
/// <see cref="FromEnvironment()"/> reads the same environment variables as Python's <c>huggingface_hub</c>,
/// so both share one cache, one token and one offline switch.
/// </summary>
public sealed record HubOptions
{
    /// <summary>The Hub that <c>huggingface_hub</c> talks to when <c>HF_ENDPOINT</c> is not set.</summary>
    public const string DefaultEndpoint = "https://huggingface.co";

    /// <summary>The branch, tag or 40-character commit hash to resolve; <c>main</c> by default.</summary>
    public string Revision { get; init; } = "main";

    /// <summary>Base URL of the Hub (<c>HF_ENDPOINT</c>), without a trailing slash.</summary>
    public string Endpoint { get; init; } = DefaultEndpoint;

    /// <summary>
    /// Access token sent as <c>Authorization: Bearer</c>, only to <see cref="Endpoint"/>'s own host (never to the
    /// CDN a download is redirected to); <see langword="null"/> sends none. It never appears in logs or exceptions.
    /// </summary>
    public string? Token { get; init; }

    /// <summary>The hub cache directory (holding <c>models--ORG--NAME</c> folders); <see langword="null"/> is <see cref="DefaultCacheDirectory"/>.</summary>
    public string? CacheDirectory { get; init; }

    /// <summary>Never touch the network (<c>HF_HUB_OFFLINE=1</c>): resolve from the cache or fail.</summary>
    public bool Offline { get; init; }

    /// <summary>How many files download at once; 8 by default, as <c>snapshot_download</c>'s <c>max_workers</c>.</summary>
    public int MaxConcurrentDownloads { get; init; } = 8;

    /// <summary>
    /// Retries of one request after a dropped connection, a timeout, or HTTP 408, 429 or 5xx; 5 by default.
    /// A download that keeps receiving data is never given up: the count restarts whenever bytes arrive.
    /// </summary>
    public int MaxRetries { get; init; } = 5;

    /// <summary>Wait before the first retry; each further retry waits twice as long, up to <see cref="MaxRetryDelay"/>. 1 s by default.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait between two retries; 8 s by default.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(8);

    /// <summary>How long a metadata request may wait for the Hub's answer (<c>HF_HUB_ETAG_TIMEOUT</c>); 10 s by default.</summary>
    public TimeSpan MetadataTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a download may go without receiving a byte (<c>HF_HUB_DOWNLOAD_TIMEOUT</c>); 10 s by default.</summary>
    public TimeSpan DownloadTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Receives warnings (retries, use of the cache when the Hub is unreachable) and debug messages; none by default.</summary>
    public ILogger? Logger { get; init; }

    /// <summary>Test hook: the handler every request goes through instead of a shared socket handler. Not disposed.</summary>
    internal HttpMessageHandler? HttpMessageHandler { get; init; }

    /// <summary>
    /// The cache directory <c>huggingface_hub</c> uses: <c>HF_HUB_CACHE</c>, else <c>HUGGINGFACE_HUB_CACHE</c>, else
    /// <c>HF_HOME/hub</c>, where <c>HF_HOME</c> defaults to <c>$XDG_CACHE_HOME/huggingface</c>, and
    /// <c>XDG_CACHE_HOME</c> to <c>~/.cache</c>.
    /// </summary>
    public static string DefaultCacheDirectory => ResolveCacheDirectory(Environment.GetEnvironmentVariable);

    /// <summary>
    /// Options from the environment, as <c>huggingface_hub</c> reads it: <c>HF_ENDPOINT</c>; <c>HF_TOKEN</c> (or the
    /// legacy <c>HUGGING_FACE_HUB_TOKEN</c>), else the token file <c>HF_TOKEN_PATH</c> (default <c>HF_HOME/token</c>),
    /// neither when <c>HF_HUB_DISABLE_IMPLICIT_TOKEN</c> is set; the cache of <see cref="DefaultCacheDirectory"/>;
    /// <c>HF_HUB_OFFLINE</c> (or <c>TRANSFORMERS_OFFLINE</c>) set to 1, ON, YES or TRUE; <c>HF_HUB_ETAG_TIMEOUT</c> and
    /// <c>HF_HUB_DOWNLOAD_TIMEOUT</c> in seconds.
    /// </summary>
    public static HubOptions FromEnvironment() => FromEnvironment(Environment.GetEnvironmentVariable);

    /// <summary>As <see cref="FromEnvironment()"/>, reading variables through <paramref name="getVariable"/> (tests).</summary>
    internal static HubOptions FromEnvironment(Func<string, string?> getVariable)
    {
        var endpoint = NonEmpty(getVariable("HF_ENDPOINT"))?.TrimEnd('/') ?? DefaultEndpoint;
        return new HubOptions
        {
            Endpoint = endpoint,
            Token = IsTrue(getVariable("HF_HUB_DISABLE_IMPLICIT_TOKEN")) ? null : ReadToken(getVariable),
            CacheDirectory = ResolveCacheDirectory(getVariable),
            Offline = IsTrue(getVariable("HF_HUB_OFFLINE")) || IsTrue(getVariable("TRANSFORMERS_OFFLINE")),
            MetadataTimeout = Seconds(getVariable, "HF_HUB_ETAG_TIMEOUT") ?? TimeSpan.FromSeconds(10),
            DownloadTimeout = Seconds(getVariable, "HF_HUB_DOWNLOAD_TIMEOUT") ?? TimeSpan.FromSeconds(10),
        };
    }

    internal static string ResolveCacheDirectory(Func<string, string?> getVariable)
    {
        var explicitCache = NonEmpty(getVariable("HF_HUB_CACHE")) ?? NonEmpty(getVariable("HUGGINGFACE_HUB_CACHE"));
        return explicitCache is not null ? ExpandUser(explicitCache) : Path.Combine(HuggingFaceHome(getVariable), "hub");
    }

    private static string HuggingFaceHome(Func<string, string?> getVariable)
    {
        if (NonEmpty(getVariable("HF_HOME")) is { } home)
            return ExpandUser(home);
        var xdgCache = NonEmpty(getVariable("XDG_CACHE_HOME")) ?? Path.Combine(UserHome(getVariable), ".cache");
        return Path.Combine(ExpandUser(xdgCache), "huggingface");
    }

    // huggingface_hub strips the token and treats an empty one as absent (_clean_token).
    private static string? ReadToken(Func<string, string?> getVariable)
    {
        if (CleanToken(getVariable("HF_TOKEN") ?? getVariable("HUGGING_FACE_HUB_TOKEN")) is { } fromEnvironment)
            return fromEnvironment;
        var tokenPath = NonEmpty(getVariable("HF_TOKEN_PATH")) is { } path ? ExpandUser(path) : Path.Combine(HuggingFaceHome(getVariable), "token");
        try
        {
            return File.Exists(tokenPath) ? CleanToken(File.ReadAllText(tokenPath)) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // an unreadable token file is treated like none, as a missing one is
        }
    }

    private static string? CleanToken(string? token) =>
        token is null ? null : NonEmpty(token.Replace("\r", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal).Trim());

    private static TimeSpan? Seconds(Func<string, string?> getVariable, string name) =>
        double.TryParse(getVariable(name), NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0
            ? TimeSpan.FromSeconds(seconds)
            : null;

    private static bool IsTrue(string? value) =>
        value is not null && value.Trim().ToUpperInvariant() is "1" or "ON" or "YES" or "TRUE";

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    private static string UserHome(Func<string, string?> getVariable) =>
        NonEmpty(getVariable("HOME")) ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    // Python's os.path.expanduser: a leading "~" is the home directory.
    private static string ExpandUser(string path) =>
        path == "~" ? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile)
        : path.StartsWith("~/", StringComparison.Ordinal) || path.StartsWith("~\\", StringComparison.Ordinal)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), path[2..])
            : path;

    // The compiler-made ToString would print the token; a record that is logged must not.
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append(CultureInfo.InvariantCulture, $"Revision = {Revision}, Endpoint = {Endpoint}, Token = {(Token is null ? "null" : "***")}, ");
        builder.Append(CultureInfo.InvariantCulture, $"CacheDirectory = {CacheDirectory}, Offline = {Offline}, MaxConcurrentDownloads = {MaxConcurrentDownloads}, ");
        builder.Append(CultureInfo.InvariantCulture, $"MaxRetries = {MaxRetries}, RetryDelay = {RetryDelay}, MaxRetryDelay = {MaxRetryDelay}, ");
        builder.Append(CultureInfo.InvariantCulture, $"MetadataTimeout = {MetadataTimeout}, DownloadTimeout = {DownloadTimeout}");
        return true;
    }

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(Revision))
            throw new ArgumentException("Revision must not be empty.", "options");
        if (!Uri.TryCreate(Endpoint, UriKind.Absolute, out var endpoint) || (endpoint.Scheme != Uri.UriSchemeHttps && endpoint.Scheme != Uri.UriSchemeHttp))
            throw new ArgumentException($"Endpoint '{Endpoint}' is not an absolute http(s) URL.", "options");
        if (MaxConcurrentDownloads < 1)
            throw new ArgumentOutOfRangeException("options", MaxConcurrentDownloads, "MaxConcurrentDownloads must be at least 1.");
        if (MaxRetries < 0)
            throw new ArgumentOutOfRangeException("options", MaxRetries, "MaxRetries must not be negative.");
        if (RetryDelay < TimeSpan.Zero || MaxRetryDelay < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException("options", "Retry delays must not be negative.");
        if (MetadataTimeout <= TimeSpan.Zero || DownloadTimeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException("options", "Timeouts must be positive.");
    }
}
