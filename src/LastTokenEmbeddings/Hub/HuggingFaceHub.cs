using System.Text.RegularExpressions;

namespace LastTokenEmbeddings.Hub;

/// <summary>
/// Models named by Hugging Face id (<c>ORG/NAME</c>), resolved to a snapshot folder in the cache that Python's
/// <c>huggingface_hub</c>, transformers and sentence-transformers share, downloading only the files an embedding
/// model needs. Downloads resume, are retried, verified and never visible half-done; offline mode
/// (<c>HF_HUB_OFFLINE=1</c>) never touches the network. See docs/hub.md.
/// </summary>
public static partial class HuggingFaceHub
{
    /// <summary>
    /// Whether <paramref name="value"/> has the form of a model id: <c>ORG/NAME</c>, each part letters, digits,
    /// '-', '_' and '.', starting and ending with a letter, digit or '_', the name at most 96 characters, with
    /// no <c>--</c> or <c>..</c> and no <c>.git</c> ending (huggingface_hub's <c>validate_repo_id</c>). A bare
    /// <c>NAME</c> is not taken for an id: the Hub's legacy unprefixed ids (<c>gpt2</c>) now redirect to an
    /// organisation (<c>openai-community/gpt2</c>), and a bare word is more likely a mistyped folder.
    /// </summary>
    /// <param name="value">A string that may be a model id.</param>
    public static bool IsModelId(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return ModelIdPattern().IsMatch(value)
            && !value.Contains("--", StringComparison.Ordinal)
            && !value.Contains("..", StringComparison.Ordinal)
            && !value.EndsWith(".git", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// Whether <paramref name="pathOrModelId"/> should be resolved from the Hub: it is a model id and no folder or
    /// file of that name exists. An existing path always wins, so <c>models/tiny</c> next to the process stays local.
    /// </summary>
    /// <param name="pathOrModelId">A model folder path or a model id.</param>
    public static bool IsHubModelReference(string pathOrModelId)
    {
        ArgumentNullException.ThrowIfNull(pathOrModelId);
        return !Directory.Exists(pathOrModelId) && !File.Exists(pathOrModelId) && IsModelId(pathOrModelId);
    }

    /// <summary>
    /// Resolves a model id to its snapshot folder in the hub cache (<c>…/models--ORG--NAME/snapshots/COMMIT</c>),
    /// downloading what the cache lacks: <c>config.json</c>; the tokenizer files, <c>generation_config.json</c> and
    /// the sentence-transformers files (<c>modules.json</c>, each module folder's <c>config.json</c>,
    /// <c>config_sentence_transformers.json</c>, <c>sentence_bert_config.json</c>) where present; and the weights:
    /// <c>model.safetensors</c>, or else <c>model.safetensors.index.json</c> and exactly the shards it names.
    /// When the Hub cannot be reached and the cache holds a complete snapshot of the revision, that snapshot is
    /// used and a warning is logged.
    /// </summary>
    /// <param name="modelId">The model, <c>ORG/NAME</c> (see <see cref="IsModelId"/>).</param>
    /// <param name="options">Revision, endpoint, token, cache and retry settings; <see langword="null"/> is <see cref="HubOptions.FromEnvironment()"/>.</param>
    /// <param name="progress">Receives progress of each file downloaded; files found in the cache report nothing.</param>
    /// <param name="cancellationToken">Cancels the resolution; a download cancelled midway is continued by the next call.</param>
    /// <returns>The full path of the snapshot folder.</returns>
    /// <exception cref="ArgumentException"><paramref name="modelId"/> is not a model id, or <paramref name="options"/> are invalid.</exception>
    /// <exception cref="HubException">The model cannot be resolved; <see cref="HubException.Kind"/> says why, the message names the model, revision and file.</exception>
    public static async Task<string> ResolveSnapshotAsync(string modelId, HubOptions? options = null, IProgress<HubDownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(modelId);
        if (!IsModelId(modelId))
            throw new ArgumentException($"'{modelId}' is not a Hugging Face model id (ORG/NAME).", nameof(modelId));
        options ??= HubOptions.FromEnvironment();
        options.Validate();
        if (!ModelFiles.IsSafeRelativePath(options.Revision))
            throw new ArgumentException($"Revision '{options.Revision}' is not a branch, tag or commit name.", nameof(options));
        using var resolver = new SnapshotResolver(modelId, options, progress);
        return await resolver.ResolveAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The folder to load a model from: <paramref name="pathOrModelId"/> itself when it is an existing folder,
    /// else the snapshot <see cref="ResolveSnapshotAsync"/> resolves for it as a model id.
    /// </summary>
    /// <param name="pathOrModelId">A model folder path or a model id.</param>
    /// <param name="options">As for <see cref="ResolveSnapshotAsync"/>.</param>
    /// <param name="progress">As for <see cref="ResolveSnapshotAsync"/>.</param>
    /// <param name="cancellationToken">As for <see cref="ResolveSnapshotAsync"/>.</param>
    /// <returns>The full path of the folder.</returns>
    /// <exception cref="DirectoryNotFoundException">It is neither an existing folder nor a model id.</exception>
    /// <exception cref="HubException">As for <see cref="ResolveSnapshotAsync"/>.</exception>
    public static async Task<string> ResolveModelDirectoryAsync(string pathOrModelId, HubOptions? options = null, IProgress<HubDownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pathOrModelId);
        if (Directory.Exists(pathOrModelId))
            return Path.GetFullPath(pathOrModelId);
        if (!IsHubModelReference(pathOrModelId))
            throw new DirectoryNotFoundException($"'{pathOrModelId}' is neither a model folder nor a Hugging Face model id (ORG/NAME).");
        return await ResolveSnapshotAsync(pathOrModelId, options, progress, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The id to report for a model: a model id as given; for a folder, <c>ORG/NAME</c> when it is a hub cache
    /// snapshot (<c>…/models--ORG--NAME/snapshots/COMMIT</c>), otherwise the folder's name.
    /// </summary>
    /// <param name="pathOrModelId">A model folder path or a model id.</param>
    public static string GetDisplayModelId(string pathOrModelId)
    {
        ArgumentException.ThrowIfNullOrEmpty(pathOrModelId);
        if (IsHubModelReference(pathOrModelId))
            return pathOrModelId;
        var folder = Path.TrimEndingDirectorySeparator(Path.GetFullPath(pathOrModelId));
        var snapshots = Path.GetDirectoryName(folder);
        if (snapshots is not null && Path.GetFileName(snapshots) == "snapshots"
            && Path.GetDirectoryName(snapshots) is { } repoFolder
            && HubCache.ModelIdOf(Path.GetFileName(repoFolder)) is { } modelId)
            return modelId;
        return Path.GetFileName(folder) is { Length: > 0 } name ? name : folder;
    }

    [GeneratedRegex(@"^[A-Za-z0-9_](?:[A-Za-z0-9_.\-]*[A-Za-z0-9_])?/[A-Za-z0-9_](?:[A-Za-z0-9_.\-]{0,94}[A-Za-z0-9_])?$", RegexOptions.CultureInvariant)]
    private static partial Regex ModelIdPattern();
}
