namespace Recurrent.Checkpoints;

/// <summary>The storage element types a state_dict may hold; every one is converted to float32.</summary>
internal enum StorageType
{
    Float,
    Double,
    Half,
    BFloat16,
    Long,
    Int,
    Short,
    Char,
    Byte,
    Bool,
}
