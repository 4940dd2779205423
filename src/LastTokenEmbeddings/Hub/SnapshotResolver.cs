using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LastTokenEmbeddings.Hub;

/// <summary>
/// Resolves one model id at one revision to a complete snapshot folder in the hub cache, downloading what is missing:
/// <list type="number">
/// <item>the revision's commit and file list from the revision API (offline: from <c>refs/</c>, or the commit itself);</item>
/// <item>the small files (config, tokenizer, sentence-transformers metadata, the weights index);</item>
/// <item>the config of each module folder <c>modules.json</c> names;</item>
/// <item>the weights, last, so a snapshot with all its weights is complete.</item>
/// </list>
/// Each file already in the snapshot is used as is: a snapshot folder is named by its commit and never changes.
/// </summary>
internal sealed class SnapshotResolver : IDisposable
{
    private readonly string _modelId;
    private readonly HubOptions _options;
    private readonly IProgress<HubDownloadProgress>? _progress;
    private readonly ILogger _logger;
    private readonly HubCache _cache;
    private readonly HubConnection _connection;

    public SnapshotResolver(string modelId, HubOptions options, IProgress<HubDownloadProgress>? progress)
    {
        _modelId = modelId;
        _options = options;
        _progress = progress;
        _logger = options.Logger ?? NullLogger.Instance;
        _cache = new HubCache(options.CacheDirectory ?? HubOptions.DefaultCacheDirectory, modelId);
        _connection = new HubConnection(modelId, options, _logger);
    }

    private string Revision => _options.Revision;

    public async Task<string> ResolveAsync(CancellationToken cancellationToken)
    {
        if (_options.Offline)
            return FromCacheOffline();

        // A commit never changes: when its snapshot is complete there is nothing to ask (huggingface_hub's shortcut too).
        if (HubCache.IsCommitHash(Revision) && _cache.FirstMissingFile(Revision) is null)
            return _cache.SnapshotDirectory(Revision);

        // Known before asking the Hub, and before refs/ can change: what the cache can stand in with.
        var cachedCommit = _cache.CachedCommitOf(Revision);
        var cachedIsComplete = cachedCommit is not null && _cache.FirstMissingFile(cachedCommit) is null;

        RevisionInfo revision;
        try
        {
            // With a complete snapshot at hand, fall back at once rather than retry (huggingface_hub does the same).
            revision = await _connection.GetRevisionInfoAsync(cachedIsComplete ? 0 : _options.MaxRetries, cancellationToken).ConfigureAwait(false);
        }
        catch (HubException e) when (e.IsTransient)
        {
            return FromCacheAfterNetworkFailure(e, cachedCommit, cachedIsComplete);
        }

        try
        {
            await DownloadSnapshotAsync(revision, cancellationToken).ConfigureAwait(false);
        }
        catch (HubException e) when (e.IsTransient)
        {
            // refs/ still names the last complete commit: it is written only once a snapshot is complete.
            return FromCacheAfterNetworkFailure(e, cachedCommit, cachedIsComplete);
        }
        try
        {
            _cache.WriteRef(Revision, revision.Commit);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A read-only cache still serves the snapshot; only the next offline lookup by branch name needs the ref.
            HubLog.CouldNotWriteRef(_logger, Revision, revision.Commit, _cache.StorageFolder, e.Message);
        }
        var snapshot = _cache.SnapshotDirectory(revision.Commit);
        HubLog.Resolved(_logger, _modelId, Revision, revision.Commit, snapshot);
        return snapshot;
    }

    private string FromCacheOffline()
    {
        var commit = _cache.CachedCommitOf(Revision);
        if (commit is null)
        {
            throw new HubException(HubErrorKind.NotInCache, _modelId, Revision,
                $"Offline mode is on (HF_HUB_OFFLINE) and the cache {_cache.CacheDirectory} has no snapshot of {_modelId} at revision '{Revision}' " +
                $"(no {Path.Combine(_cache.RepoFolderName, "refs", Revision)}). Download it once with the network on, or unset HF_HUB_OFFLINE.");
        }
        if (_cache.FirstMissingFile(commit) is { } missing)
        {
            throw new HubException(HubErrorKind.NotInCache, _modelId, Revision,
                $"Offline mode is on (HF_HUB_OFFLINE) and the cached snapshot {commit} of {_modelId} at revision '{Revision}' is incomplete: {missing} is missing. " +
                "Complete the download with the network on, or unset HF_HUB_OFFLINE.",
                missing);
        }
        return _cache.SnapshotDirectory(commit);
    }

    private string FromCacheAfterNetworkFailure(HubException failure, string? cachedCommit, bool cachedIsComplete)
    {
        if (cachedIsComplete)
        {
            HubLog.UsingCachedSnapshot(_logger, _connection.Endpoint, _modelId, Revision, failure.Message, cachedCommit!);
            return _cache.SnapshotDirectory(cachedCommit!);
        }
        var cacheState = cachedCommit is null
            ? $"the cache {_cache.CacheDirectory} holds no snapshot of it"
            : $"the cached snapshot {cachedCommit} is incomplete ({_cache.FirstMissingFile(cachedCommit)} is missing)";
        throw new HubException(HubErrorKind.NetworkError, _modelId, Revision,
            $"{failure.Message} Gave up after {_options.MaxRetries} {(_options.MaxRetries == 1 ? "retry" : "retries")}; {cacheState}. Check the network connection (and HF_ENDPOINT), or set HF_HUB_OFFLINE=1 to use only the cache.",
            failure.FileName, failure.StatusCode, failure);
    }

    private async Task DownloadSnapshotAsync(RevisionInfo revision, CancellationToken cancellationToken)
    {
        var commit = revision.Commit;
        var files = revision.Files;
        if (!files.Contains(ModelFiles.Config))
        {
            throw new HubException(HubErrorKind.UnsupportedRepository, _modelId, Revision,
                $"{_modelId} at revision '{Revision}' (commit {commit}) has no {ModelFiles.Config}: it is not a transformers model.", ModelFiles.Config);
        }
        // transformers (and this library's loader) prefer model.safetensors when both forms are there.
        var sharded = !files.Contains(ModelFiles.SingleWeights);
        if (sharded && !files.Contains(ModelFiles.WeightsIndex))
        {
            var others = ModelFiles.OtherWeightFiles(files).Take(5).ToList();
            throw new HubException(HubErrorKind.UnsupportedRepository, _modelId, Revision,
                $"{_modelId} at revision '{Revision}' (commit {commit}) has no safetensors weights ({ModelFiles.SingleWeights} or {ModelFiles.WeightsIndex}); " +
                (others.Count > 0 ? $"it has {string.Join(", ", others)}, which this library does not load. " : "") +
                "Use a revision or a copy of the model with safetensors weights.", ModelFiles.SingleWeights);
        }

        var metadataFiles = ModelFiles.MetadataFiles.Append(ModelFiles.WeightsIndex).Where(f => f != ModelFiles.WeightsIndex || sharded);
        await FetchPresentAsync(commit, files, metadataFiles, cancellationToken).ConfigureAwait(false);

        if (files.Contains(ModelFiles.Modules))
        {
            var folders = Read(commit, ModelFiles.Modules, ModelFiles.ReadModuleFolders);
            await FetchPresentAsync(commit, files, folders.Select(folder => folder + "/" + ModelFiles.Config), cancellationToken).ConfigureAwait(false);
        }

        IReadOnlyList<string> weights = [ModelFiles.SingleWeights];
        if (sharded)
        {
            weights = Read(commit, ModelFiles.WeightsIndex, ModelFiles.ReadShardNames);
            if (weights.FirstOrDefault(shard => !files.Contains(shard)) is { } absent)
            {
                throw new HubException(HubErrorKind.FileNotFound, _modelId, Revision,
                    $"{ModelFiles.WeightsIndex} of {_modelId} at revision '{Revision}' names the shard '{absent}', which is not in the repository.", absent);
            }
        }
        await FetchAllAsync(commit, weights, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Fetches those of <paramref name="wanted"/> the repository has; records the others in <c>.no_exist</c>.</summary>
    private Task FetchPresentAsync(string commit, IReadOnlySet<string> repoFiles, IEnumerable<string> wanted, CancellationToken cancellationToken)
    {
        var present = new List<string>();
        foreach (var file in wanted.Distinct(StringComparer.Ordinal))
        {
            if (repoFiles.Contains(file))
                present.Add(file);
            else
                _cache.MarkMissing(commit, file);
        }
        return FetchAllAsync(commit, present, cancellationToken);
    }

    private Task FetchAllAsync(string commit, IReadOnlyList<string> files, CancellationToken cancellationToken) =>
        Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = _options.MaxConcurrentDownloads, CancellationToken = cancellationToken },
            (file, token) => new ValueTask(FetchAsync(commit, file, token)));

    /// <summary>Makes <c>snapshots/COMMIT/FILE</c> exist: from the snapshot, from a blob already cached, or downloaded.</summary>
    private async Task FetchAsync(string commit, string fileName, CancellationToken cancellationToken)
    {
        var pointer = _cache.PointerPath(commit, fileName);
        if (File.Exists(pointer)) // follows the link: a dangling one (blob deleted) counts as absent
            return;
        var metadata = await _connection.GetFileMetadataAsync(commit, fileName, cancellationToken).ConfigureAwait(false);
        _cache.CreateCacheDirTag();
        var blobLock = await HubFileLock.AcquireAsync(_cache.LockPath(metadata.ETag), _logger, cancellationToken).ConfigureAwait(false);
        await using (blobLock.ConfigureAwait(false))
        {
            if (!File.Exists(_cache.BlobPath(metadata.ETag)))
                await BlobDownloader.DownloadAsync(_connection, _cache, fileName, metadata, _progress, cancellationToken).ConfigureAwait(false);
            if (!File.Exists(pointer))
                _cache.LinkPointer(commit, fileName, metadata.ETag);
        }
    }

    private T Read<T>(string commit, string fileName, Func<string, T> read)
    {
        try
        {
            return read(_cache.PointerPath(commit, fileName));
        }
        catch (FormatException e)
        {
            throw new HubException(HubErrorKind.UnsupportedRepository, _modelId, Revision,
                $"{fileName} of {_modelId} at revision '{Revision}' is malformed: {e.Message}.", fileName, innerException: e);
        }
    }

    public void Dispose() => _connection.Dispose();
}
