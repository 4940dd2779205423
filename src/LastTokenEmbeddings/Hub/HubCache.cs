using System.Text;
using System.Text.RegularExpressions;

namespace LastTokenEmbeddings.Hub;

/// <summary>
/// One model's folder in a hub cache, laid out exactly as <c>huggingface_hub</c> lays it out:
/// <code>
/// CACHE/models--ORG--NAME/refs/REVISION            the commit hash the revision pointed to
/// CACHE/models--ORG--NAME/blobs/ETAG               file contents, named by sha256 (LFS) or git blob hash
/// CACHE/models--ORG--NAME/snapshots/COMMIT/PATH    relative symlink to ../../blobs/ETAG (one more ../ per folder in PATH)
/// CACHE/models--ORG--NAME/.no_exist/COMMIT/PATH    empty: PATH is known not to exist at COMMIT
/// CACHE/.locks/models--ORG--NAME/ETAG.lock         held while ETAG is being downloaded
/// </code>
/// </summary>
internal sealed partial class HubCache
{
    private const string CacheDirTagContent =
        "Signature: 8a477f597d28d172789f06886806bc55\n" +
        "# This file is a cache directory tag created by huggingface_hub.\n" +
        "# For information about cache directory tags, see:\n" +
        "#\thttps://bford.info/cachedir/\n";

    public HubCache(string cacheDirectory, string modelId)
    {
        CacheDirectory = Path.GetFullPath(cacheDirectory);
        RepoFolderName = FolderNameOf(modelId);
        StorageFolder = Path.Combine(CacheDirectory, RepoFolderName);
    }

    /// <summary>The cache root (holding every <c>models--*</c> folder).</summary>
    public string CacheDirectory { get; }

    /// <summary><c>models--ORG--NAME</c>.</summary>
    public string RepoFolderName { get; }

    /// <summary>The model's folder in the cache.</summary>
    public string StorageFolder { get; }

    private string BlobsDirectory => Path.Combine(StorageFolder, "blobs");

    /// <summary><c>models--</c> then the id with each '/' replaced by <c>--</c> (huggingface_hub's <c>repo_folder_name</c>).</summary>
    public static string FolderNameOf(string modelId) => "models--" + modelId.Replace("/", "--", StringComparison.Ordinal);

    /// <summary>The model id whose cache folder is <paramref name="folderName"/>, or <see langword="null"/> when it is not a model folder.</summary>
    public static string? ModelIdOf(string folderName)
    {
        if (!folderName.StartsWith("models--", StringComparison.Ordinal))
            return null;
        // Ids never contain "--" (huggingface_hub's validate_repo_id), so the separator is unambiguous.
        var id = folderName["models--".Length..].Replace("--", "/", StringComparison.Ordinal);
        return id.Length > 0 ? id : null;
    }

    public static bool IsCommitHash(string revision) => CommitHashPattern().IsMatch(revision);

    public string SnapshotDirectory(string commit) => Path.Combine(StorageFolder, "snapshots", commit);

    public string PointerPath(string commit, string repoFileName) => Path.Combine(SnapshotDirectory(commit), LocalPath(repoFileName));

    public string BlobPath(string etag) => Path.Combine(BlobsDirectory, etag);

    /// <summary>The partial download of a blob, continued by the next attempt (under the blob's lock).</summary>
    public string IncompletePath(string etag) => BlobPath(etag) + ".incomplete";

    public string LockPath(string etag) => Path.Combine(CacheDirectory, ".locks", RepoFolderName, etag + ".lock");

    private string RefPath(string revision) => Path.Combine(StorageFolder, "refs", LocalPath(revision));

    private string NoExistPath(string commit, string repoFileName) => Path.Combine(StorageFolder, ".no_exist", commit, LocalPath(repoFileName));

    /// <summary>The commit a revision resolves to in the cache: the revision itself when it is a commit hash, else <c>refs/REVISION</c>.</summary>
    public string? CachedCommitOf(string revision)
    {
        if (IsCommitHash(revision))
            return revision;
        var refPath = RefPath(revision);
        try
        {
            // huggingface_hub writes the hash without a newline; one written by hand may have one.
            var commit = File.Exists(refPath) ? File.ReadAllText(refPath).Trim() : null;
            return commit is not null && IsCommitHash(commit) ? commit : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Records that <paramref name="revision"/> points to <paramref name="commit"/>, atomically (readers never see half a hash).</summary>
    public void WriteRef(string revision, string commit)
    {
        if (revision == commit || CachedCommitOf(revision) == commit)
            return;
        var refPath = RefPath(revision);
        Directory.CreateDirectory(Path.GetDirectoryName(refPath)!);
        var temporary = $"{refPath}.{Guid.NewGuid():N}.tmp";
        File.WriteAllText(temporary, commit, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        File.Move(temporary, refPath, overwrite: true);
    }

    /// <summary>Marks <paramref name="repoFileName"/> as absent at <paramref name="commit"/>, as transformers does for the optional files it looks for. Best effort.</summary>
    public void MarkMissing(string commit, string repoFileName)
    {
        var path = NoExistPath(commit, repoFileName);
        try
        {
            if (File.Exists(path))
                return;
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using (File.Create(path)) { }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Only an optimisation for other readers of the cache; nothing depends on it.
        }
    }

    /// <summary>
    /// The first file that a usable snapshot needs and this one lacks, or <see langword="null"/> when it is complete:
    /// <c>config.json</c>, and the weights: <c>model.safetensors</c>, or else the index and every shard it names.
    /// Downloads put the weights last, so a snapshot interrupted earlier never passes for complete.
    /// </summary>
    public string? FirstMissingFile(string commit)
    {
        var snapshot = SnapshotDirectory(commit);
        if (!Directory.Exists(snapshot))
            return "the snapshot folder";
        if (!File.Exists(PointerPath(commit, ModelFiles.Config)))
            return ModelFiles.Config;
        if (File.Exists(PointerPath(commit, ModelFiles.SingleWeights)))
            return null;
        var index = PointerPath(commit, ModelFiles.WeightsIndex);
        if (!File.Exists(index))
            return ModelFiles.SingleWeights;
        IReadOnlyList<string> shards;
        try
        {
            shards = ModelFiles.ReadShardNames(index);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return ModelFiles.WeightsIndex;
        }
        return shards.FirstOrDefault(shard => !File.Exists(PointerPath(commit, shard)));
    }

    /// <summary>
    /// Makes <c>snapshots/COMMIT/PATH</c> point at <c>blobs/ETAG</c> with a relative symlink (creating a symlink is
    /// atomic, so the pointer appears whole). Where symlinks are not allowed (Windows without developer mode), the
    /// blob is copied under a temporary name and renamed into place, as huggingface_hub falls back to a copy.
    /// Callers hold the blob's lock.
    /// </summary>
    public void LinkPointer(string commit, string repoFileName, string etag)
    {
        var pointer = PointerPath(commit, repoFileName);
        var pointerDirectory = Path.GetDirectoryName(pointer)!;
        Directory.CreateDirectory(pointerDirectory);
        var blob = BlobPath(etag);
        File.Delete(pointer); // a dangling link left by a deleted blob (File.Exists said no)
        try
        {
            // Relative, so the cache still works after being moved or mounted elsewhere.
            File.CreateSymbolicLink(pointer, Path.GetRelativePath(pointerDirectory, blob));
            return;
        }
        catch (IOException) when (File.Exists(pointer))
        {
            return; // made meanwhile by a writer that does not take the lock; it points at the same verified content
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            // no symlinks here: copy below
        }
        var temporary = Path.Combine(pointerDirectory, $".{Path.GetFileName(pointer)}.{Guid.NewGuid():N}.tmp");
        try
        {
            File.Copy(blob, temporary, overwrite: true);
            File.Move(temporary, pointer, overwrite: true);
        }
        finally
        {
            File.Delete(temporary); // no-op once moved
        }
    }

    /// <summary>Tags the cache root so backup tools skip it (CACHEDIR.TAG), as huggingface_hub does. Best effort.</summary>
    public void CreateCacheDirTag()
    {
        var tag = Path.Combine(CacheDirectory, "CACHEDIR.TAG");
        try
        {
            if (!File.Exists(tag))
                File.WriteAllText(tag, CacheDirTagContent, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The tag only helps backup tools.
        }
    }

    /// <summary>A repository path ('/'-separated) as a relative local path; callers have validated it with <see cref="ModelFiles.IsSafeRelativePath"/>.</summary>
    private static string LocalPath(string repoPath) => Path.Combine(repoPath.Split('/'));

    [GeneratedRegex("^[0-9a-f]{40}$", RegexOptions.CultureInvariant)]
    private static partial Regex CommitHashPattern();
}
