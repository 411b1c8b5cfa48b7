//! Face models run by tract: the 128-D dlib ResNet descriptor and the MMOD CNN detector.
