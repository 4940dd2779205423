using System.Net;

namespace LastTokenEmbeddings.Hub;

/// <summary>What went wrong when resolving a model from the Hugging Face Hub.</summary>
public enum HubErrorKind
{
    /// <summary>The Hub has no such model, or it is private and no token with access was sent (HTTP 404 <c>RepoNotFound</c>, or 401).</summary>
    RepositoryNotFound,

    /// <summary>The model exists but the branch, tag or commit does not (<c>RevisionNotFound</c>).</summary>
    RevisionNotFound,

    /// <summary>A file the model needs is not in the repository at that revision (<c>EntryNotFound</c>).</summary>
    FileNotFound,

    /// <summary>The model is gated or private and the token is missing or has no access (HTTP 401 or 403).</summary>
    AccessDenied,

    /// <summary>The repository is not a model this library can load: no <c>config.json</c>, or no safetensors weights.</summary>
    UnsupportedRepository,

    /// <summary>A downloaded file's sha256 (or git blob hash) or size differs from what the Hub announced; the download was deleted.</summary>
    ChecksumMismatch,

    /// <summary>Offline mode is on and the cache holds no complete snapshot of that revision.</summary>
    NotInCache,

    /// <summary>The Hub could not be reached (connection refused, timeout, DNS, dropped connection, HTTP 5xx) and the cache holds no complete snapshot.</summary>
    NetworkError,

    /// <summary>The Hub answered with an error not listed above, or a response lacking what the protocol requires (commit, ETag, size).</summary>
    ProtocolError,
}

/// <summary>
/// A model could not be resolved from the Hugging Face Hub or its cache. The message names the model, the revision
/// and, where one is at fault, the file; it never contains the access token.
/// </summary>
public sealed class HubException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="kind">What went wrong.</param>
    /// <param name="modelId">The model, <c>ORG/NAME</c>.</param>
    /// <param name="revision">The revision asked for.</param>
    /// <param name="message">The full message.</param>
    /// <param name="fileName">The file at fault, if any.</param>
    /// <param name="statusCode">The Hub's HTTP status, if it answered.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public HubException(HubErrorKind kind, string modelId, string revision, string message, string? fileName = null, HttpStatusCode? statusCode = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Kind = kind;
        ModelId = modelId;
        Revision = revision;
        FileName = fileName;
        StatusCode = statusCode;
    }

    /// <summary>What went wrong.</summary>
    public HubErrorKind Kind { get; }

    /// <summary>The model, <c>ORG/NAME</c>.</summary>
    public string ModelId { get; }

    /// <summary>The revision asked for (branch, tag or commit).</summary>
    public string Revision { get; }

    /// <summary>The file at fault (path in the repository), or <see langword="null"/> when the problem is not about one file.</summary>
    public string? FileName { get; }

    /// <summary>The Hub's HTTP status code, or <see langword="null"/> when it gave none (network failure, cache, checksum).</summary>
    public HttpStatusCode? StatusCode { get; }

    /// <summary>Whether the failure is one that the cache may stand in for: the Hub could not be reached or had a server error.</summary>
    internal bool IsTransient => Kind == HubErrorKind.NetworkError;
}
