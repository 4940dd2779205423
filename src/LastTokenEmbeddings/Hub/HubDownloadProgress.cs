namespace LastTokenEmbeddings.Hub;

/// <summary>
/// Progress of one file being downloaded into the hub cache. Reported when the download starts (with the bytes
/// already on disk from an interrupted attempt), about every MiB, and when the verified file is in place.
/// Files found in the cache report nothing.
/// </summary>
/// <param name="ModelId">The model, <c>ORG/NAME</c>.</param>
/// <param name="FileName">The file's path in the repository, e.g. <c>1_Pooling/config.json</c>.</param>
/// <param name="BytesDownloaded">Bytes of the file on disk so far.</param>
/// <param name="TotalBytes">Size of the file.</param>
/// <param name="IsComplete">Whether the file is verified and in the cache.</param>
public sealed record HubDownloadProgress(string ModelId, string FileName, long BytesDownloaded, long TotalBytes, bool IsComplete);
